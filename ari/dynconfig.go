package ari

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DynamicConfig pushes Sorcery objects (PJSIP endpoints, auths, AORs) into
// Asterisk through ARI's push configuration
// (/asterisk/config/dynamic/{class}/{type}/{id}). Asterisk keeps them in the
// memory wizard that sorcery.conf lists after the config file, so objects of
// pjsip.conf stay as they are and pushed ones vanish with a restart (the
// owner pushes them again).
type DynamicConfig struct {
	URL      string // ARI base, e.g. http://127.0.0.1:8088/ari
	Username string
	Password string
	HTTP     *http.Client
}

// Field is one attribute of a pushed object; order matters to Asterisk for a
// few options (e.g. disallow before allow).
type Field struct {
	Attribute string `json:"attribute"`
	Value     string `json:"value"`
}

func (d *DynamicConfig) do(ctx context.Context, method, class, typ, id string, body any) (int, error) {
	u := strings.TrimRight(d.URL, "/") + "/asterisk/config/dynamic/" + url.PathEscape(class) + "/" +
		url.PathEscape(typ) + "/" + url.PathEscape(id)
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, err
	}
	req.SetBasicAuth(d.Username, d.Password)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := d.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("ARI %s %s/%s/%s: %w", method, class, typ, id, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("ARI %s %s/%s/%s: %s: %s", method, class, typ, id, resp.Status, bytes.TrimSpace(msg))
	}
	return resp.StatusCode, nil
}

// Put creates or updates the object.
func (d *DynamicConfig) Put(ctx context.Context, class, typ, id string, fields []Field) error {
	_, err := d.do(ctx, http.MethodPut, class, typ, id, map[string]any{"fields": fields})
	return err
}

// Delete removes a pushed object; one that is not there is no error.
func (d *DynamicConfig) Delete(ctx context.Context, class, typ, id string) error {
	code, err := d.do(ctx, http.MethodDelete, class, typ, id, nil)
	if code == http.StatusNotFound {
		return nil
	}
	return err
}
