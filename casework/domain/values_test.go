package domain

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParseValueTypes(t *testing.T) {
	type parser func(string) (string, error)
	wrap := func(f any) parser {
		switch f := f.(type) {
		case func(string) (Category, error):
			return func(s string) (string, error) { v, err := f(s); return string(v), err }
		case func(string) (Urgency, error):
			return func(s string) (string, error) { v, err := f(s); return string(v), err }
		case func(string) (Confidentiality, error):
			return func(s string) (string, error) { v, err := f(s); return string(v), err }
		case func(string) (Channel, error):
			return func(s string) (string, error) { v, err := f(s); return string(v), err }
		case func(string) (HandlingMode, error):
			return func(s string) (string, error) { v, err := f(s); return string(v), err }
		case func(string) (Role, error):
			return func(s string) (string, error) { v, err := f(s); return string(v), err }
		case func(string) (Satisfaction, error):
			return func(s string) (string, error) { v, err := f(s); return string(v), err }
		case func(string) (FindingKind, error):
			return func(s string) (string, error) { v, err := f(s); return string(v), err }
		case func(string) (MaterialKind, error):
			return func(s string) (string, error) { v, err := f(s); return string(v), err }
		}
		panic("unknown parser")
	}
	tests := []struct {
		name  string
		parse parser
		in    string
		want  string
	}{
		{"category code", wrap(ParseCategory), "inquiry", "inquiry"},
		{"category label 咨询", wrap(ParseCategory), "咨询", "inquiry"},
		{"category label 求助", wrap(ParseCategory), "求助", "help"},
		{"category label 投诉", wrap(ParseCategory), "投诉", "complaint"},
		{"category label 举报", wrap(ParseCategory), "举报", "report"},
		{"category label 建议", wrap(ParseCategory), "建议", "suggestion"},
		{"category label 表扬", wrap(ParseCategory), "表扬", "praise"},
		{"category upper case and space", wrap(ParseCategory), " REPORT ", "report"},
		{"category unknown", wrap(ParseCategory), "gossip", ""},
		{"category empty", wrap(ParseCategory), "", ""},
		{"urgency", wrap(ParseUrgency), "urgent", "urgent"},
		{"urgency label", wrap(ParseUrgency), "紧急", "urgent"},
		{"urgency unknown", wrap(ParseUrgency), "asap", ""},
		{"confidentiality", wrap(ParseConfidentiality), "confidential", "confidential"},
		{"confidentiality label", wrap(ParseConfidentiality), "保密", "confidential"},
		{"confidentiality unknown", wrap(ParseConfidentiality), "secret", ""},
		{"channel sms", wrap(ParseChannel), "sms", "sms"},
		{"channel mailbox label", wrap(ParseChannel), "市长信箱", "mailbox"},
		{"channel unknown", wrap(ParseChannel), "pigeon", ""},
		{"mode written", wrap(ParseHandlingMode), "written_transfer", "written_transfer"},
		{"mode label", wrap(ParseHandlingMode), "直接答复", "direct_answer"},
		{"mode unknown", wrap(ParseHandlingMode), "telepathy", ""},
		{"role", wrap(ParseRole), "supervisor", "supervisor"},
		{"role unknown", wrap(ParseRole), "mayor", ""},
		{"satisfaction label", wrap(ParseSatisfaction), "基本满意", "basically_satisfied"},
		{"satisfaction unknown", wrap(ParseSatisfaction), "meh", ""},
		{"finding", wrap(ParseFindingKind), "shirking", "shirking"},
		{"finding unknown", wrap(ParseFindingKind), "lazy", ""},
		{"material", wrap(ParseMaterialKind), "传真", "fax"},
		{"material unknown", wrap(ParseMaterialKind), "telegram", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.parse(tt.in)
			if tt.want == "" {
				var ve *ValidationError
				if !errors.As(err, &ve) || !errors.Is(err, ErrInvalid) {
					t.Fatalf("want *ValidationError, got %v", err)
				}
				if !strings.Contains(err.Error(), "want one of") {
					t.Errorf("error %q does not list the valid values", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestCategoryCodesAndLabels(t *testing.T) {
	want := map[Category]string{
		"inquiry": "咨询", "help": "求助", "complaint": "投诉",
		"report": "举报", "suggestion": "建议", "praise": "表扬",
	}
	if len(Categories()) != len(want) {
		t.Fatalf("got %d categories, want %d", len(Categories()), len(want))
	}
	for _, c := range Categories() {
		if want[c] != c.Label() {
			t.Errorf("%s: label %q, want %q", c, c.Label(), want[c])
		}
	}
}

func TestUnmarshalTextRefusesUnknownValues(t *testing.T) {
	var r Registration
	err := json.Unmarshal([]byte(`{"category":"gossip"}`), &r)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("want ErrInvalid, got %v", err)
	}
	if err := json.Unmarshal([]byte(`{"category":"举报","channel":"web"}`), &r); err != nil {
		t.Fatal(err)
	}
	if r.Category != CategoryReport || r.Channel != ChannelWeb {
		t.Errorf("got %q %q", r.Category, r.Channel)
	}
	out, _ := json.Marshal(r.Category)
	if string(out) != `"report"` {
		t.Errorf("marshals as %s, want the code", out)
	}
}

func TestParseCaseNumber(t *testing.T) {
	tests := []struct {
		in  string
		ok  bool
		seq int
	}{
		{"202405140001", true, 1},
		{"2024051400000123", true, 123},
		{"20240514001", false, 0},       // sequence too short
		{"20240514000000001", false, 0}, // sequence too long
		{"202413140001", false, 0},      // month 13
		{"202402300001", false, 0},      // 30 February
		{"2024-05-14-1", false, 0},
		{"", false, 0},
	}
	for _, tt := range tests {
		n, err := ParseCaseNumber(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseCaseNumber(%q) err = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if tt.ok && (n.Sequence() != tt.seq || n.Date().Format("20060102") != tt.in[:8]) {
			t.Errorf("%q: date %v seq %d", tt.in, n.Date(), n.Sequence())
		}
	}
}

func TestParseRegion(t *testing.T) {
	for in, ok := range map[string]bool{"370102": true, "east-district": true, "": false, "a b": false, "区": false} {
		if _, err := ParseRegion(in); (err == nil) != ok {
			t.Errorf("ParseRegion(%q) = %v, want ok=%v", in, err, ok)
		}
	}
}

func TestActorValidate(t *testing.T) {
	tests := []struct {
		name string
		a    Actor
		ok   bool
	}{
		{"agent", Actor{ID: "1001", Role: RoleAgent}, true},
		{"unit", Actor{ID: "u1", Role: RoleUnit, UnitID: "D1"}, true},
		{"unit without unit", Actor{ID: "u1", Role: RoleUnit}, false},
		{"agent with unit", Actor{ID: "1001", Role: RoleAgent, UnitID: "D1"}, false},
		{"no id", Actor{Role: RoleAgent}, false},
		{"unknown role", Actor{ID: "x", Role: "mayor"}, false},
		{"label as role", Actor{ID: "x", Role: "话务员"}, false},
	}
	for _, tt := range tests {
		_, err := NewActor(tt.a.ID, tt.a.Role, tt.a.UnitID)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: want ErrInvalid, got %v", tt.name, err)
		}
	}
}

func TestMaterialRefValidate(t *testing.T) {
	tests := []struct {
		m  MaterialRef
		ok bool
	}{
		{MaterialRef{Kind: MaterialRecording, Ref: "file:///var/spool/rec/1.wav"}, true},
		{MaterialRef{Kind: MaterialFax, Ref: "s3://faxes/2024/05/14/abc.tiff"}, true},
		{MaterialRef{Kind: MaterialRecording, Ref: ""}, false},
		{MaterialRef{Kind: MaterialRecording, Ref: "has space"}, false},
		{MaterialRef{Kind: "video", Ref: "x"}, false},
		{MaterialRef{Kind: MaterialDocument, Ref: strings.Repeat("a", 1025)}, false},
	}
	for _, tt := range tests {
		if err := tt.m.Validate(); (err == nil) != tt.ok {
			t.Errorf("%+v: err = %v, want ok=%v", tt.m, err, tt.ok)
		}
	}
}

func TestLabelsAndValidity(t *testing.T) {
	tests := []struct {
		valid bool
		label string
		want  string
	}{
		{UrgencyUrgent.Valid(), UrgencyUrgent.Label(), "紧急"},
		{ConfidentialityConfidential.Valid(), ConfidentialityConfidential.Label(), "保密"},
		{ChannelSMS.Valid(), ChannelSMS.Label(), "短信"},
		{ModePhoneTransfer.Valid(), ModePhoneTransfer.Label(), "电话交办"},
		{RoleUnit.Valid(), RoleUnit.Label(), "承办单位"},
		{MaterialFax.Valid(), MaterialFax.Label(), "传真"},
		{FindingShirking.Valid(), FindingShirking.Label(), "推诿拖拉"},
		{BasicallySatisfied.Valid(), BasicallySatisfied.Label(), "基本满意"},
		{CategoryReport.Valid(), CategoryReport.Label(), "举报"},
		{StateCompleted.Valid(), StateCompleted.Label(), "完成处理"},
		{ActionReturnForRedo.Valid(), ActionReturnForRedo.Label(), "退回重办"},
	}
	for _, tt := range tests {
		if !tt.valid || tt.label != tt.want {
			t.Errorf("label %q valid %v, want %q", tt.label, tt.valid, tt.want)
		}
	}
	if Category("x").Valid() || Category("x").Label() != "" || CaseNumber("1").Valid() {
		t.Errorf("unknown values pass as valid")
	}
	if !Unreachable.Valid() || Unreachable.Counts() || !BasicallySatisfied.Content() || Dissatisfied.Content() || !Dissatisfied.Counts() {
		t.Errorf("satisfaction rate membership wrong")
	}
	var k FindingKind
	if err := json.Unmarshal([]byte(`"lazy"`), &k); !errors.Is(err, ErrInvalid) {
		t.Errorf("finding kind JSON: %v", err)
	}
	var s Satisfaction
	if err := json.Unmarshal([]byte(`"不满意"`), &s); err != nil || s != Dissatisfied {
		t.Errorf("satisfaction JSON: %q %v", s, err)
	}
}

func TestErrorMessages(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&TransitionError{From: StateArchived, Action: ActionReply}, "cannot reply a case that is archived"},
		{&ForbiddenError{Actor: agent, Action: ActionApprove, Reason: "role not permitted"}, `agent "1001" may not approve: role not permitted`},
		{&ExtensionLimitError{Requests: 2, MaxRequests: 1}, "extension request 2 exceeds the limit of 1 per assignment"},
		{&ExtensionLimitError{Requests: 1, MaxRequests: NoLimit, TotalWorkingDays: 31, MaxTotalWorkingDays: 30}, "time limit would reach 31 working days, more than the limit of 30"},
		{invalid("region", "x y", "bad"), `invalid region "x y": bad`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

// TestCallerPhoneSaysWhatIsWrong: a refused phone number is explained by what is
// wrong with it, not by a pattern it may well match ("0" is digits, but short).
func TestCallerPhoneSaysWhatIsWrong(t *testing.T) {
	for _, tc := range []struct{ phone, want string }{
		{"13800138000", ""},
		{"+86-10-12345", ""},
		{"110", ""},
		{"0", "too short"},
		{"12", "too short"},
		{"+", "too short"},
		{"+12", "too short"},
		{"call me", "only digits"},
		{"138 0013 8000", "only digits"},
		{"--12345", "start with a digit"},
		{strings.Repeat("1", 33), "too long"},
	} {
		t.Run(tc.phone, func(t *testing.T) {
			err := Caller{Phone: tc.phone}.Validate()
			var ve *ValidationError
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.As(err, &ve) || ve.Field != "caller.phone" || !strings.Contains(ve.Reason, tc.want) {
				t.Fatalf("%v, want a caller.phone error saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), tc.phone) && len(tc.phone) > 2 {
				t.Fatalf("the error echoes the number: %v", err)
			}
		})
	}
}
