package calendar

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// importLines joins lines with newlines, so that a test's line numbers are the
// positions in the list plus one.
func importLines(lines ...string) []byte { return []byte(strings.Join(lines, "\n") + "\n") }

const testPaper = "https://www.gov.cn/zhengce/zhengceku/202611/content_1.htm"

func TestParseImportGood(t *testing.T) {
	tests := []struct {
		name string
		raw  []byte
		want Notice
	}{
		{"2027.json", importLines(
			`{`,
			`  "year": 2027,`,
			`  "papers": ["`+testPaper+`"],`,
			`  "days": [`,
			`    {"name": "国庆节", "date": "2027-10-09", "isOffDay": false},`,
			`    {"name": "元旦", "date": "2027-01-01", "isOffDay": true}`,
			`  ]`,
			`}`,
		), Notice{Year: 2027, Papers: []string{testPaper}, Days: []NoticeDay{
			{"元旦", "2027-01-01", true},
			{"国庆节", "2027-10-09", false},
		}}},
		// A notice reaching into the previous December, like 2023's; holiday-cn's
		// $schema and $id are accepted; a BOM and CRLF line ends too.
		{"2023.json", []byte("\uFEFF{\r\n\"$schema\": \"s\", \"$id\": \"i\", \"year\": 2023, \"papers\": [\"" + testPaper + "\"],\r\n" +
			"\"days\": [{\"name\": \"元旦\", \"date\": \"2022-12-31\", \"isOffDay\": true}]}\r\n"),
			Notice{Year: 2023, Papers: []string{testPaper}, Days: []NoticeDay{{"元旦", "2022-12-31", true}}}},
		{"2027.txt", importLines(
			`# 国务院办公厅关于2027年部分节假日安排的通知`,
			``,
			`year 2027`,
			`paper `+testPaper,
			`2027-02-05 off 春节   # 除夕`,
			`2027-02-06 休 春节`,
			`2027-02-20 work 春节 调休`,
			`2027-01-02 OFF`,
			`2027-02-21 班`,
			`2026-12-31 off 元旦`,
		), Notice{Year: 2027, Papers: []string{testPaper}, Days: []NoticeDay{
			{"元旦", "2026-12-31", true},
			{"休息日", "2027-01-02", true},
			{"春节", "2027-02-05", true},
			{"春节", "2027-02-06", true},
			{"春节 调休", "2027-02-20", false},
			{"调休上班", "2027-02-21", false},
		}}},
		// No year line: every date is in 2027. No paper either.
		{"list", []byte("\uFEFF2027-10-04 off 国庆节\r\n2027-10-09 work 国庆节\r\n"),
			Notice{Year: 2027, Papers: []string{}, Days: []NoticeDay{
				{"国庆节", "2027-10-04", true},
				{"国庆节", "2027-10-09", false},
			}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseImport(tt.name, tt.raw)
			if err != nil {
				t.Fatalf("ParseImport: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseImport =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestParseImportJSONErrors(t *testing.T) {
	day := func(date string) string { return `    {"name": "春节", "date": "` + date + `", "isOffDay": true}` }
	tests := []struct {
		what    string
		raw     []byte
		wantErr string // the error starts with this
	}{
		{"missing comma", importLines(
			`{`,
			`  "year": 2027,`,
			`  "papers": ["`+testPaper+`"]`,
			`  "days": []`,
			`}`,
		), `x.json: line 4, column 3: invalid character '"' after object key:value pair`},
		{"trailing comma", importLines(
			`{`,
			`  "year": 2027,`,
			`  "papers": [],`,
			`  "days": [],`,
			`}`,
		), `x.json: line 5, column 1: invalid character '}' looking for beginning of object key string`},
		{"cut short", importLines(
			`{`,
			`  "year": 2027,`,
			`  "papers": [`,
		), `x.json: line 3, column 14: the file ends inside the JSON object: unexpected EOF`},
		{"trailing data", importLines(`{"year": 2027, "papers": [], "days": []}`, `{}`),
			`x.json: line 2, column 1: trailing data after the JSON object`},
		{"year as string", importLines(
			`{`,
			`  "papers": ["`+testPaper+`"],`,
			`  "year": "2027",`,
			`  "days": []`,
			`}`,
		), `x.json: line 3, column 11: year: want a number, got a string`},
		{"year not whole", importLines(`{"year": 2027.5, "papers": [], "days": []}`),
			`x.json: line 1, column 10: year: 2027.5 is not a whole number`},
		{"year out of range", importLines(`{"year": 1900, "papers": [], "days": []}`),
			`x.json: line 1, column 10: year 1900 outside 1950-2099`},
		{"papers as string", importLines(`{"year": 2027,`, `"papers": "`+testPaper+`", "days": []}`),
			`x.json: line 2, column 11: papers: want an array of URLs, got a string`},
		{"isOffDay as string", importLines(
			`{`,
			`  "year": 2027,`,
			`  "papers": ["`+testPaper+`"],`,
			`  "days": [`,
			day("2027-02-05")+`,`,
			`    {"name": "春节", "date": "2027-02-06",`,
			`     "isOffDay": "true"}`,
			`  ]`,
			`}`,
		), `x.json: line 7, column 18: days[1].isOffDay: want true or false, got a string`},
		{"day not an object", importLines(`{"year": 2027, "papers": ["`+testPaper+`"],`, `"days": [`, `"2027-02-05"]}`),
			`x.json: line 3, column 1: days[0]: want an object {name, date, isOffDay}, got a string`},
		{"unknown field", importLines(
			`{`,
			`  "year": 2027,`,
			`  "notice": "2027",`,
			`  "papers": [],`,
			`  "days": []`,
			`}`,
		), `x.json: line 3, column 3: unknown field "notice": a holiday-cn file has year, papers and days`},
		{"unknown day field", importLines(
			`{"year": 2027, "papers": ["`+testPaper+`"], "days": [`,
			`  {"name": "春节", "date": "2027-02-05",`,
			`   "isOffday": true}`,
			`]}`,
		), `x.json: line 3, column 4: days[0]: unknown field "isOffday": a day has name, date and isOffDay`},
		{"field twice", importLines(`{"year": 2027, "papers": [],`, `  "year": 2028, "days": []}`),
			`x.json: line 2, column 3: "year" given twice`},
		{"missing year", importLines(`{"papers": [], "days": []}`), `x.json: line 1, column 1: "year" is required`},
		{"missing papers", importLines(`{"year": 2027, "days": []}`), `x.json: line 1, column 1: "papers" is required`},
		{"days without papers", importLines(`{"year": 2027,`, `  "papers": [],`, `  "days": [`, day("2027-02-05"), `]}`),
			`x.json: line 2, column 13: papers is empty: days listed without the notice they come from`},
		{"missing isOffDay", importLines(
			`{`,
			`  "year": 2027,`,
			`  "papers": ["`+testPaper+`"],`,
			`  "days": [`,
			day("2027-02-05")+`,`,
			`    {`,
			`      "name": "春节",`,
			`      "date": "2027-02-06"`,
			`    }`,
			`  ]`,
			`}`,
		), `x.json: line 6, column 5: days[1]: isOffDay required`},
		{"empty name", importLines(`{"year": 2027, "papers": ["`+testPaper+`"], "days": [`,
			`  {"name": " ", "date": "2027-02-05", "isOffDay": true}]}`),
			`x.json: line 2, column 3: days[0]: name required`},
		{"bad date", importLines(`{"year": 2027, "papers": ["`+testPaper+`"], "days": [`, day("2027-02-05")+`,`, day("2027-2-6"), `]}`),
			`x.json: line 3, column 5: days[1]: "2027-2-6" is not a date (YYYY-MM-DD)`},
		{"date not near the year", importLines(`{"year": 2027, "papers": ["`+testPaper+`"], "days": [`, day("2027-02-05")+`,`, day("2029-02-06"), `]}`),
			`x.json: line 3, column 5: days[1]: 2029-02-06 is not near 2027`},
		{"date twice", importLines(`{"year": 2027, "papers": ["`+testPaper+`"], "days": [`, day("2027-02-05")+`,`, day("2027-02-06")+`,`, day("2027-02-05"), `]}`),
			`x.json: line 4, column 5: days[2]: 2027-02-05 listed again (first as days[0] on line 2)`},
		{"no day", importLines(`{"year": 2027, "papers": [], "days": []}`),
			`x.json: lists no day: a year without a notice needs no import`},
		{"not UTF-8", []byte("{\"year\": 2027, \"papers\": [],\n\"days\": [{\"name\": \"\xb4\xba\xbd\xda\""),
			`x.json: line 2, column 20: not UTF-8 text`},
	}
	for _, tt := range tests {
		t.Run(tt.what, func(t *testing.T) {
			_, err := ParseImport("x.json", tt.raw)
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("ParseImport error\n%v\nwant it to start with\n%s", err, tt.wantErr)
			}
		})
	}
}

func TestParseImportJSONSyntaxErrorIsKept(t *testing.T) {
	_, err := ParseImport("x.json", []byte(`{"year": 2027,}`))
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		t.Errorf("error %v does not wrap a *json.SyntaxError", err)
	}
}

func TestParseImportListErrors(t *testing.T) {
	tests := []struct {
		what    string
		raw     []byte
		wantErr string // the whole error
	}{
		{"bad date", importLines(
			`# 2027`,
			`year 2027`,
			``,
			`2027-02-05 off 春节`,
			`2027-02-06 off 春节`,
			`2027-02-07 off 春节`,
			`2027-02-30 off 春节`,
		), `2027.txt:7: "2027-02-30" is not a date (YYYY-MM-DD)`},
		{"unknown keyword", importLines(`year 2027`, `papers `+testPaper, `2027-02-05 off`),
			`2027.txt:2: unknown keyword "papers": a line is "year YYYY", "paper URL" or "YYYY-MM-DD off|work [name]"`},
		{"work on a weekday", importLines(`2027-02-05 off 春节`, `2027-02-10 work 春节`),
			`2027.txt:2: 2027-02-10 is a Wednesday: only a Saturday or Sunday can be made a working day`},
		{"contradictory duplicate", importLines(`year 2027`, `2027-02-20 off`, `# makeup`, `2027-02-20 班`),
			`2027.txt:4: 2027-02-20 listed again (first on line 2)`},
		{"same day twice", importLines(`2027-02-05 off 春节`, `2027-02-05 off 除夕`),
			`2027.txt:2: 2027-02-05 listed again (first on line 1)`},
		{"no year, two years", importLines(`# 元旦`, `2026-12-31 off 元旦`, `2027-01-01 off 元旦`, `2027-02-05 off 春节`),
			`2027.txt:3: no year line, and the dates span 2026 (line 2) and 2027: add "year YYYY" for the notice's year`},
		{"date not near the year", importLines(`year 2027`, `2027-02-05 off`, `2029-02-05 off`),
			`2027.txt:3: 2029-02-05 is not near 2027: a notice lists its year and at most its neighbours' New Year days (year on line 1)`},
		{"missing kind", importLines(`2027-02-05`), `2027.txt:1: 2027-02-05: want off (休) or work (班) after the date`},
		{"unknown kind", importLines(`2027-02-05 holiday 春节`), `2027.txt:1: 2027-02-05: "holiday" is neither off (休) nor work (班)`},
		{"year twice", importLines(`year 2027`, `year 2027`, `2027-02-05 off`), `2027.txt:2: year given again (first on line 1)`},
		{"bad year", importLines(`year 二〇二七`, `2027-02-05 off`), `2027.txt:1: "二〇二七" is not a year: want "year YYYY"`},
		{"year out of range", importLines(`year 2100`), `2027.txt:1: year 2100 outside 1950-2099`},
		{"bad paper", importLines(`paper www.gov.cn/x`, `2027-02-05 off`),
			`2027.txt:1: "www.gov.cn/x" is not a URL: want "paper https://...", the notice's address`},
		{"empty file", nil, `2027.txt: lists no day: a year without a notice needs no import`},
		{"only comments", importLines(`# nothing yet`, `year 2027`, `   `), `2027.txt: lists no day: a year without a notice needs no import`},
		{"not UTF-8", []byte("year 2027\n2027-02-05 off \xb4\xba\xbd\xda\n"), `2027.txt: line 2, column 16: not UTF-8 text (save the file as UTF-8)`},
		{"every error, in line order", importLines(
			`year 2027`,
			`2029-01-01 off`,
			`2027-02-30 off`,
			`2027-02-10 work`,
			`hello`,
		), strings.Join([]string{
			`2027.txt:2: 2029-01-01 is not near 2027: a notice lists its year and at most its neighbours' New Year days (year on line 1)`,
			`2027.txt:3: "2027-02-30" is not a date (YYYY-MM-DD)`,
			`2027.txt:4: 2027-02-10 is a Wednesday: only a Saturday or Sunday can be made a working day`,
			`2027.txt:5: unknown keyword "hello": a line is "year YYYY", "paper URL" or "YYYY-MM-DD off|work [name]"`,
		}, "\n")},
	}
	for _, tt := range tests {
		t.Run(tt.what, func(t *testing.T) {
			_, err := ParseImport("2027.txt", tt.raw)
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("ParseImport error\n%v\nwant\n%s", err, tt.wantErr)
			}
		})
	}
}

// A file that is no list at all gets a bounded report.
func TestParseImportListErrorLimit(t *testing.T) {
	var lines, want []string
	for i := 1; i <= maxListErrors+5; i++ {
		lines = append(lines, "?")
		if i <= maxListErrors {
			want = append(want, fmt.Sprintf(`f:%d: unknown keyword "?": a line is "year YYYY", "paper URL" or "YYYY-MM-DD off|work [name]"`, i))
		}
	}
	want = append(want, "f: 5 more errors")
	_, err := ParseImport("f", importLines(lines...))
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Errorf("ParseImport error\n%v\nwant\n%s", err, strings.Join(want, "\n"))
	}
}

// Every embedded holiday-cn file imports as the notice the binary embeds:
// an operator can import a copy of a newer holiday-cn file as it is.
func TestParseImportEmbeddedFiles(t *testing.T) {
	embedded, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	if len(embedded) < 7 {
		t.Fatalf("Embedded() has %d notices, want 2020-2026 at least", len(embedded))
	}
	for _, want := range embedded {
		name := fmt.Sprintf("%d.json", want.Year)
		raw, err := notices.ReadFile("data/" + name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseImport(name, raw)
		if err != nil {
			t.Errorf("ParseImport(%s): %v", name, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ParseImport(%s) =\n%+v\nwant what the binary embeds\n%+v", name, got, want)
		}
	}
}

// The 2027 placeholder (no notice yet) is refused as an import.
func TestParseImportPlaceholder(t *testing.T) {
	raw, err := notices.ReadFile("data/2027.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseImport("2027.json", raw); err == nil || !strings.Contains(err.Error(), "lists no day") {
		t.Errorf("ParseImport(2027.json placeholder) error %v, want \"lists no day\"", err)
	}
}
