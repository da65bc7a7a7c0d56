package prompts

import (
	"strings"
	"testing"
)

// The constants and the table must list the same prompts in the same order,
// so a prompt can neither be referenced without text nor exist unreferenced.
func TestTableMatchesIDs(t *testing.T) {
	tbl := Table()
	if len(tbl) != len(AllIDs) {
		t.Fatalf("prompts.tsv has %d prompts, ids.go %d", len(tbl), len(AllIDs))
	}
	for i, p := range tbl {
		if p.ID != AllIDs[i] {
			t.Errorf("entry %d: prompts.tsv has %q, AllIDs has %q", i, p.ID, AllIDs[i])
		}
	}
}

func TestFixedTexts(t *testing.T) {
	tests := []struct {
		id   ID
		want string
	}{
		{Greeting, "您好，欢迎致电12345政务服务便民热线。"},
		{FallbackApology, "您好，系统正在维护，请在提示音后留言，我们会尽快与您联系。"},
		{RecordingNotice, "您的通话可能会被录音。"},
	}
	if first := Table()[0].ID; first != Greeting {
		t.Errorf("first prompt is %q, want %q", first, Greeting)
	}
	for _, tt := range tests {
		got, ok := Text(tt.id)
		if !ok || got != tt.want {
			t.Errorf("Text(%q) = %q, %v; want %q", tt.id, got, ok, tt.want)
		}
	}
	if _, ok := Text("no-such-prompt"); ok {
		t.Error("Text of an unknown id reported ok")
	}
}

func TestParseTable(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []Prompt
		wantErr string
	}{
		{
			name: "comments and blank lines",
			in:   "# header\n\ngreeting\t您好。\r\nbye\t再见。  \n",
			want: []Prompt{{"greeting", "您好。"}, {"bye", "再见。"}},
		},
		{name: "no tab", in: "greeting 您好\n", wantErr: "line 1: want"},
		{name: "bad id", in: "Greeting\t您好\n", wantErr: `invalid id "Greeting"`},
		{name: "path in id", in: "../x\t您好\n", wantErr: "invalid id"},
		{name: "empty text", in: "greeting\t \n", wantErr: "has no text"},
		{name: "tab in text", in: "greeting\t您\t好\n", wantErr: "contains a TAB"},
		{name: "duplicate", in: "a\t一\nb\t二\na\t三\n", wantErr: `line 3: duplicate id "a" (first on line 1)`},
		{name: "empty", in: "# nothing\n", wantErr: "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTable(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("entry %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestSpeechText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"您好，欢迎致电12345政务服务便民热线。", "您好，欢迎致电幺二三四五政务服务便民热线。"},
		{"请在3个工作日内答复", "请在3个工作日内答复"},
		{"您前面还有12位", "您前面还有12位"},
		{"案件编号20240506001", "案件编号二零二四零五零六零零幺"},
		{"2024年5月6日", "二零二四年5月6日"},
		{"共1999元", "共1999元"},
		{"电话１３８００１３８０００", "电话幺三八零零幺三八零零零"},
		{"  前后空白 ", "前后空白"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := SpeechText(tt.in); got != tt.want {
			t.Errorf("SpeechText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDigits(t *testing.T) {
	tests := []struct{ in, want string }{
		{"1001", "幺零零幺"},
		{"12345", "幺二三四五"},
		{"0", "零"},
		{"A-17", "A-幺七"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Digits(tt.in); got != tt.want {
			t.Errorf("Digits(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
