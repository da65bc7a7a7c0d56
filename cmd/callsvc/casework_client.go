package main

import (
	"context"
	"errors"

	"github.com/hotline12345/hotline/ivr"
)

// caseworkClient reads case status for voice self-service from the casework
// API's self-service endpoint with the call service's bearer token.
type caseworkClient struct {
	base, token string
}

func newCaseworkClient(base, token string) *caseworkClient {
	return &caseworkClient{base: base, token: token}
}

// LookupCase implements ivr.CaseLookup.
func (c *caseworkClient) LookupCase(ctx context.Context, number, caller, code string) (ivr.CaseStatus, error) {
	return ivr.CaseStatus{}, errors.New("not implemented")
}
