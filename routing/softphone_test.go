package routing

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/hotline12345/hotline/ari"
)

// listOptionConfig keeps pushed PJSIP objects the way Asterisk's dynamic
// configuration does for the option that matters here: a PUT onto an existing
// object adds "acl" to the ACLs it has, and a named ACL given twice makes
// Asterisk refuse the object (400 "Named ACL ... occurs multiple times").
type listOptionConfig struct {
	mu   sync.Mutex
	acls map[string][]string // "type/id" -> named ACLs
}

func (c *listOptionConfig) Put(_ context.Context, _, typ, id string, fields []ari.Field) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := typ + "/" + id
	acls := c.acls[key]
	for _, f := range fields {
		if f.Attribute != "acl" {
			continue
		}
		if slices.Contains(acls, f.Value) {
			return fmt.Errorf("ARI PUT res_pjsip/%s: 400 Bad Request: Named ACL '%s' occurs multiple times", key, f.Value)
		}
		acls = append(acls, f.Value)
	}
	c.acls[key] = acls
	return nil
}

func (c *listOptionConfig) Delete(_ context.Context, _, typ, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.acls, typ+"/"+id)
	return nil
}

// An agent signing in again (a second page, or after the call service
// restarted) gets a working account: the earlier endpoint is replaced, not
// added to, so its ACL is there once.
func TestBrowserSoftphoneSignInAgain(t *testing.T) {
	cfg := &listOptionConfig{acls: map[string][]string{}}
	id := Identity{UserID: "u1", Name: "话务员", Role: "agent", StaffNumber: "2004"}
	for i, sp := range []*Softphones{
		NewSoftphones(cfg, nil, nil, time.Hour, zap.NewNop()),
		NewSoftphones(cfg, nil, nil, time.Hour, zap.NewNop()), // the same page again
		NewSoftphones(cfg, nil, nil, time.Hour, zap.NewNop()), // a restarted service: nothing known of before
	} {
		if _, err := sp.provision(context.Background(), id, "token"); err != nil {
			t.Fatalf("sign-in %d: %v", i+1, err)
		}
		if i == 0 {
			if _, err := sp.provision(context.Background(), id, "token"); err != nil {
				t.Fatalf("sign-in %d, second page: %v", i+1, err)
			}
		}
	}
	if got := cfg.acls["endpoint/2004"]; !slices.Equal(got, []string{"agent-desk"}) {
		t.Errorf("endpoint ACLs %v, want [agent-desk]", got)
	}
}
