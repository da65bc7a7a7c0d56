package store

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzUnitImportParse: any bytes as a unit directory CSV are parsed into valid
// units or line-numbered errors, never a panic; every accepted row is a valid
// unit whose duty line (if any) goes through an allowed trunk.
func FuzzUnitImportParse(f *testing.F) {
	f.Add([]byte("id,name,level,parent_id,duty_line\ncenter,12345热线中心,1,,\ndongcheng,东城区,2,center,PJSIP/8801@dutylines\n"))
	f.Add([]byte("\uFEFFid,name,level,parent_id,duty_line\n# comment\nx,\"引号,逗号\",3,dongcheng,\n"))
	f.Add([]byte("evil,坏,2,center,PJSIP/1001\nevil,坏,2,center,Local/x@y\n\"unterminated,2"))
	s := NewUnits(nil, nil)
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, bad := s.parseImport(bytes.NewReader(data))
		for _, e := range bad {
			if e.Line < 0 || e.Err == nil || !strings.HasPrefix(e.Error(), "line ") {
				t.Fatalf("bad line error %#v", e)
			}
		}
		for _, r := range rows {
			if err := r.unit.Validate(); err != nil {
				t.Fatalf("accepted an invalid unit on line %d: %+v: %v", r.line, r.unit, err)
			}
			if r.unit.DutyLine != "" && !strings.HasSuffix(r.unit.DutyLine, "@dutylines") {
				t.Fatalf("accepted duty line %q outside the allowed trunks", r.unit.DutyLine)
			}
		}
	})
}
