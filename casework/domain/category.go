package domain

// Category is what kind of request the citizen made (C1). The code is what JSON and
// the database store; the Chinese label is what agents and reports show.
type Category string

// Categories of 000 三(一) and 001 §三, in the order the hotline lists them.
const (
	CategoryInquiry    Category = "inquiry"    // 咨询
	CategoryHelp       Category = "help"       // 求助
	CategoryComplaint  Category = "complaint"  // 投诉
	CategoryReport     Category = "report"     // 举报: the caller is a whistleblower (001 §四(六))
	CategorySuggestion Category = "suggestion" // 建议
	CategoryPraise     Category = "praise"     // 表扬
)

var categoryEnum = enum[Category]{
	field:  "category",
	codes:  []Category{CategoryInquiry, CategoryHelp, CategoryComplaint, CategoryReport, CategorySuggestion, CategoryPraise},
	labels: []string{"咨询", "求助", "投诉", "举报", "建议", "表扬"},
}

// ParseCategory accepts a code ("report") or a label ("举报").
func ParseCategory(s string) (Category, error) { return categoryEnum.parse(s) }

// Categories lists every category.
func Categories() []Category { return categoryEnum.all() }

// Valid reports whether c is one of the codes.
func (c Category) Valid() bool { return categoryEnum.valid(c) }

// Label is the Chinese name.
func (c Category) Label() string { return categoryEnum.label(c) }

// UnmarshalText refuses unknown categories at the JSON boundary.
func (c *Category) UnmarshalText(b []byte) error {
	v, err := ParseCategory(string(b))
	*c = v
	return err
}
