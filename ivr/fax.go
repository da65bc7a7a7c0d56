package ivr

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/hotline12345/hotline/ari"
	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/ivr/prompts"
)

// FaxConfig configures the fax service (传真服务, SPEC T11).
type FaxConfig struct {
	// DocsDir holds the catalogue's PDF sources, named "<number>-<title>.pdf";
	// the caller keys the number.
	DocsDir string
	// Dir is the fax store, the same path for Asterisk: catalogue/<n>.tiff (the
	// rendered documents) and received/YYYY/MM/DD/<id>.tiff + .pdf.
	Dir string
	// Context is the dialplan context with extensions "send" and "receive"
	// (asterisk-conf/extensions.conf [hotline-fax]).
	Context string
	// Ghostscript and TIFF2PDF are the converters (defaults from PATH).
	Ghostscript string
	TIFF2PDF    string
}

// FaxDocument is one document of the catalogue.
type FaxDocument struct {
	ID    string // what the caller keys
	Title string
	PDF   string
	TIFF  string // rendered fax image (TIFF G3, 204x196 dpi, A4)
	Pages int
}

// FaxCatalogue is the fax service: the rendered documents and where faxes go.
type FaxCatalogue struct {
	cfg  FaxConfig
	docs map[string]FaxDocument
}

var docName = regexp.MustCompile(`^([0-9]{1,4})[-_ ]?(.*)\.pdf$`)

// LoadFaxCatalogue renders every PDF of DocsDir to fax TIFF with ghostscript.
// It runs at start: a document that does not render is a deployment error.
func LoadFaxCatalogue(ctx context.Context, cfg FaxConfig) (*FaxCatalogue, error) {
	if cfg.Ghostscript == "" {
		cfg.Ghostscript = "gs"
	}
	if cfg.TIFF2PDF == "" {
		cfg.TIFF2PDF = "tiff2pdf"
	}
	if cfg.Context == "" {
		cfg.Context = "hotline-fax"
	}
	entries, err := os.ReadDir(cfg.DocsDir)
	if err != nil {
		return nil, fmt.Errorf("fax catalogue: %w", err)
	}
	out := filepath.Join(cfg.Dir, "catalogue")
	if err := os.MkdirAll(out, 0o770); err != nil {
		return nil, fmt.Errorf("fax catalogue: %w", err)
	}
	// Asterisk (in the directory's group, deploy/stack/serviceuser.sh) reads
	// the documents: whatever the umask made of the directory, it must be
	// group-readable; only the call service writes here.
	if err := os.Chmod(out, 0o750|os.ModeSetgid); err != nil {
		return nil, fmt.Errorf("fax catalogue: %w", err)
	}
	c := &FaxCatalogue{cfg: cfg, docs: map[string]FaxDocument{}}
	for _, e := range entries {
		m := docName.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			continue
		}
		id := strings.TrimLeft(m[1], "0")
		if id == "" {
			id = "0"
		}
		if _, dup := c.docs[id]; dup {
			return nil, fmt.Errorf("fax catalogue: two documents numbered %s", id)
		}
		d := FaxDocument{ID: id, Title: m[2], PDF: filepath.Join(cfg.DocsDir, e.Name()), TIFF: filepath.Join(out, id+".tiff")}
		tmp := d.TIFF + "." + uuid.NewString()[:8] + ".tmp"
		cmd := exec.CommandContext(ctx, cfg.Ghostscript, "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER",
			"-sDEVICE=tiffg3", "-r204x196", "-sPAPERSIZE=a4", "-dFIXEDMEDIA", "-dPDFFitPage",
			"-sOutputFile="+tmp, d.PDF)
		if b, err := cmd.CombinedOutput(); err != nil {
			os.Remove(tmp)
			return nil, fmt.Errorf("fax catalogue: render %s: %v: %s", e.Name(), err, bytes.TrimSpace(b))
		}
		if d.Pages, err = tiffPages(tmp); err != nil || d.Pages == 0 {
			os.Remove(tmp)
			return nil, fmt.Errorf("fax catalogue: %s rendered badly: %v", e.Name(), err)
		}
		_ = os.Chmod(tmp, 0o644)
		if err := os.Rename(tmp, d.TIFF); err != nil {
			return nil, fmt.Errorf("fax catalogue: %w", err)
		}
		c.docs[id] = d
	}
	if len(c.docs) == 0 {
		return nil, fmt.Errorf("fax catalogue: no <number>-<title>.pdf in %s", cfg.DocsDir)
	}
	return c, nil
}

// Documents lists the catalogue by number.
func (c *FaxCatalogue) Documents() []FaxDocument {
	var out []FaxDocument
	for _, d := range c.docs {
		out = append(out, d)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out
}

// tiffPages counts the images (IFDs) of a TIFF file.
func tiffPages(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return countTIFFPages(b)
}

func countTIFFPages(b []byte) (int, error) {
	if len(b) < 8 {
		return 0, errors.New("tiff: too short")
	}
	var bo binary.ByteOrder
	switch string(b[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0, errors.New("tiff: bad byte order mark")
	}
	if bo.Uint16(b[2:]) != 42 {
		return 0, errors.New("tiff: not a classic TIFF")
	}
	off := int64(bo.Uint32(b[4:]))
	pages := 0
	seen := map[int64]bool{}
	for off != 0 {
		if seen[off] || off+2 > int64(len(b)) {
			return pages, errors.New("tiff: broken IFD chain")
		}
		seen[off] = true
		n := int64(bo.Uint16(b[off:]))
		next := off + 2 + 12*n
		if next+4 > int64(len(b)) {
			return pages, errors.New("tiff: truncated IFD")
		}
		pages++
		off = int64(bo.Uint32(b[next:]))
	}
	return pages, nil
}

// mkdirShared creates dir (below base) group-writable and setgid at every
// level, whatever the umask: Asterisk, in the group, writes received faxes
// there.
func mkdirShared(base, dir string) error {
	rel, err := filepath.Rel(base, dir)
	if err != nil || strings.HasPrefix(rel, "..") {
		return fmt.Errorf("%s is not below %s", dir, base)
	}
	p := base
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		p = filepath.Join(p, part)
		if err := os.Mkdir(p, 0o770); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		// Also repairs a level made earlier under a stricter umask; one we do
		// not own is left as it is (its owner decides). os.ModeSetgid, not
		// 0o2000: Go's FileMode has its own bit for setgid and drops 0o2000,
		// which left new levels in the service's group, closed to Asterisk.
		_ = os.Chmod(p, 0o770|os.ModeSetgid)
	}
	return nil
}

// newFaxID is a UUID (the faxes table's key) that is also usable in a dialplan
// variable name.
func newFaxID() string { return uuid.NewString() }

// faxResult is what the dialplan left in the global variable HLFAX_<id> (see
// [hotline-fax]).
type faxResult struct {
	Status, Error, Remote string
	Pages                 int
}

func parseFaxResult(v string) faxResult {
	f := strings.Split(v, "|")
	for len(f) < 4 {
		f = append(f, "")
	}
	pages, _ := strconv.Atoi(f[1])
	r := faxResult{Status: strings.ToLower(f[0]), Pages: pages, Error: f[2], Remote: strings.TrimSpace(f[3])}
	if r.Status == "success" {
		r.Error = "" // FAXERROR says HANGUP when the far end hung up after the last page
	} else {
		r.Status = "failed"
		if r.Error == "" {
			r.Error = "no result from the fax modem"
		}
	}
	return r
}

// faxService is menu option 3: a document number and # asks for that document
// (sent on this call), a bare # sends a fax to the hotline, * goes back.
func (s *Service) faxService(ctx context.Context, call *Call) (bool, error) {
	ch := call.ChannelID()
	if s.cfg.Fax == nil {
		_, err := call.S.Play(ctx, ch, s.Sound(string(prompts.ServiceUnavailable)), false)
		return true, err
	}
	call.SetOutcome(event.OutcomeFax)
	for try := 1; try <= s.cfg.Menu.MaxErrors; try++ {
		if _, err := call.S.Play(ctx, ch, s.Sound(string(prompts.FaxMenu)), true); err != nil {
			return false, err
		}
		d, err := call.S.ReadDigits(ctx, ch, ari.ReadOptions{Terminators: "#", Max: 6,
			FirstTimeout: s.cfg.Menu.FirstTimeout, InterTimeout: s.cfg.Menu.InterTimeout})
		switch {
		case strings.Contains(d, "*"):
			return true, nil
		case errors.Is(err, ari.ErrNoInput):
			s.menuEvent(call, "fax", "", ChoiceTimeout, try)
			if _, err := call.S.Play(ctx, ch, s.Sound(string(prompts.NoInput)), false); err != nil {
				return false, err
			}
			continue
		case err != nil:
			return false, err
		case d == "":
			s.menuEvent(call, "fax", "#", "receive", try)
			return false, s.receiveFax(ctx, call, true)
		}
		doc, ok := s.cfg.Fax.docs[strings.TrimLeft(d, "0")]
		if !ok {
			s.menuEvent(call, "fax", d, ChoiceInvalid, try)
			call.S.FlushDigits(ch)
			if _, err := call.S.Play(ctx, ch, s.Sound(string(prompts.FaxNoDocument)), false); err != nil {
				return false, err
			}
			continue
		}
		s.menuEvent(call, "fax", d, "send", try)
		return false, s.sendFax(ctx, call, doc)
	}
	_, err := call.S.Play(ctx, ch, s.Sound(string(prompts.TooManyErrors)), false)
	return true, err
}

// runFax hands the channel to the fax dialplan and collects the result, which
// the dialplan stores in a global variable because the caller's fax machine usually hangs
// up as soon as the last page is through (the channel does not come back).
func (s *Service) runFax(ctx context.Context, call *Call, exten, faxID, file string) (faxResult, bool, error) {
	ch := call.ChannelID()
	for k, v := range map[string]string{"HLFAX_ID": faxID, "HLFAX_FILE": file} {
		if err := call.S.SetVar(ctx, ch, k, v); err != nil {
			return faxResult{}, false, err
		}
	}
	err := call.S.ContinueAndReturn(ctx, ch, s.cfg.Fax.cfg.Context, exten, 1)
	back := err == nil
	if err != nil && !errors.Is(err, ari.ErrHangup) {
		return faxResult{}, false, err
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	name := "HLFAX_" + faxID
	v, gerr := call.S.GlobalVar(rctx, name)
	if gerr != nil {
		call.Log.Warn("fax result not read", zap.String("fax_id", faxID), zap.Error(gerr))
	} else if err := call.S.SetGlobalVar(rctx, name, ""); err != nil {
		call.Log.Warn("fax result not cleared", zap.String("fax_id", faxID), zap.Error(err))
	}
	return parseFaxResult(v), back, nil
}

// sendFax sends a catalogue document to the caller's fax on this call.
func (s *Service) sendFax(ctx context.Context, call *Call, doc FaxDocument) error {
	ch := call.ChannelID()
	if _, err := call.S.Play(ctx, ch, s.Sound(string(prompts.FaxStart)), false); err != nil {
		return err
	}
	faxID := newFaxID()
	res, back, err := s.runFax(ctx, call, "send", faxID, doc.TIFF)
	if err != nil {
		return err
	}
	s.metrics.faxes.WithLabelValues("sent", res.Status).Inc()
	call.Emit(event.FaxSent, event.FaxPayload{FaxID: faxID, DocumentID: doc.ID, Pages: res.Pages, Status: res.Status,
		Error: res.Error, Remote: res.Remote})
	call.Log.Info("fax sent", zap.String("fax_id", faxID), zap.String("document", doc.ID), zap.String("status", res.Status),
		zap.Int("pages", res.Pages), zap.String("error", res.Error))
	if back && res.Status != "success" {
		if _, err := call.S.Play(ctx, ch, s.Sound(string(prompts.FaxFailed)), false); err != nil {
			return err
		}
		return s.goodbye(ctx, call)
	}
	return nil
}

// receiveFax takes a fax from the caller into the store (TIFF and a PDF copy);
// casework keeps it as material for an agent. prompt asks a person to press
// start; a fax machine detected by its tone gets no prompt.
func (s *Service) receiveFax(ctx context.Context, call *Call, prompt bool) error {
	ch := call.ChannelID()
	if prompt {
		if _, err := call.S.Play(ctx, ch, s.Sound(string(prompts.FaxReceive)), false); err != nil {
			return err
		}
	}
	faxID := newFaxID()
	day := time.Now().In(shanghai)
	dir := filepath.Join(s.cfg.Fax.cfg.Dir, "received", day.Format("2006"), day.Format("01"), day.Format("02"))
	if err := mkdirShared(s.cfg.Fax.cfg.Dir, dir); err != nil {
		return fmt.Errorf("fax store: %w", err)
	}
	tiff := filepath.Join(dir, faxID+".tiff")
	res, back, err := s.runFax(ctx, call, "receive", faxID, tiff)
	if err != nil {
		return err
	}
	p := event.FaxPayload{FaxID: faxID, Pages: res.Pages, Status: res.Status, Error: res.Error, Remote: res.Remote}
	if res.Status == "success" {
		p.URI = tiff
		if n, err := tiffPages(tiff); err != nil {
			p.Status, p.Error = "failed", "received file unreadable: "+err.Error()
		} else {
			p.Pages = n
			pdf := strings.TrimSuffix(tiff, ".tiff") + ".pdf"
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			out, cerr := exec.CommandContext(cctx, s.cfg.Fax.cfg.TIFF2PDF, "-o", pdf, tiff).CombinedOutput()
			cancel()
			if cerr != nil {
				call.Log.Error("fax PDF copy failed", zap.String("fax_id", faxID), zap.Error(cerr), zap.ByteString("output", out))
			} else {
				p.PDFURI = pdf
			}
		}
	}
	s.metrics.faxes.WithLabelValues("received", p.Status).Inc()
	call.Emit(event.FaxReceived, p)
	call.Log.Info("fax received", zap.String("fax_id", faxID), zap.String("status", p.Status), zap.Int("pages", p.Pages),
		zap.String("error", p.Error), zap.String("uri", p.URI))
	if back && p.Status != "success" {
		if _, err := call.S.Play(ctx, ch, s.Sound(string(prompts.FaxFailed)), false); err != nil {
			return err
		}
		return s.goodbye(ctx, call)
	}
	return nil
}
