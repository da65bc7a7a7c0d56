// Package apptest holds test doubles of the casework application's ports: an
// in-memory case repository that keeps the same contract as the PostgreSQL store
// (the contract suite in casework/store runs against both), for fast unit tests
// of code above the store.
package apptest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/event"
)

// Memory is an in-memory case repository. It stores snapshots, not pointers, so
// a caller's case never aliases the stored one, and serialises changes with one
// lock, as the database's row lock does per case.
type Memory struct {
	mu      sync.Mutex
	cases   map[string]stored
	numbers map[domain.CaseNumber]string
	seq     map[string]int
	// Events are the history entries' and extra events in commit order, as the
	// PostgreSQL store writes them to its outbox.
	Events []event.Envelope
	// Filed are the inbox items cases were registered from, in commit order.
	Filed []domain.Filing
}

type stored struct {
	snap    domain.Snapshot
	consent bool
}

// NewMemory returns an empty repository.
func NewMemory() *Memory {
	return &Memory{cases: map[string]stored{}, numbers: map[domain.CaseNumber]string{}, seq: map[string]int{}}
}

// NextNumber allocates the day's next number (the day in UTC+8).
func (m *Memory) NextNumber(_ context.Context, at time.Time) (domain.CaseNumber, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	day := at.In(time.FixedZone("CST", 8*3600)).Format("20060102")
	m.seq[day]++
	return domain.ParseCaseNumber(fmt.Sprintf("%s%04d", day, m.seq[day]))
}

// CreateCase stores a new case with the caller's callback consent. Filings are
// recorded in Filed (the memory store keeps no inbox).
func (m *Memory) CreateCase(_ context.Context, c *domain.Case, consent bool, extra []event.Envelope, filings ...domain.Filing) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.cases[c.ID()]; ok {
		return fmt.Errorf("case %s: %w", c.ID(), domain.ErrConflict)
	}
	if _, ok := m.numbers[c.Number()]; ok {
		return fmt.Errorf("case number %s: %w", c.Number(), domain.ErrConflict)
	}
	m.cases[c.ID()] = stored{snap: c.Snapshot(), consent: consent}
	m.Filed = append(m.Filed, filings...)
	m.numbers[c.Number()] = c.ID()
	m.record(c, extra)
	c.ClearPending()
	return nil
}

func (m *Memory) record(c *domain.Case, extra []event.Envelope) {
	for _, e := range c.Pending() {
		m.Events = append(m.Events, event.Envelope{ID: e.EventID(), Version: event.Version, Type: event.CaseChanged,
			Time: e.At, CaseID: e.CaseID})
	}
	m.Events = append(m.Events, extra...)
}

// Get loads a case.
func (m *Memory) Get(_ context.Context, id string) (*domain.Case, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.cases[id]
	if !ok {
		return nil, fmt.Errorf("case %q: %w", id, domain.ErrNotFound)
	}
	return domain.RestoreCase(s.snap)
}

// IDByNumber resolves a case number.
func (m *Memory) IDByNumber(_ context.Context, number string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.numbers[domain.CaseNumber(number)]
	if !ok {
		return "", fmt.Errorf("case number %q: %w", number, domain.ErrNotFound)
	}
	return id, nil
}

// UpdateCase runs fn on the case with its callback consent and saves it.
func (m *Memory) UpdateCase(_ context.Context, id string, fn func(*domain.Case, bool) ([]event.Envelope, error)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.cases[id]
	if !ok {
		return fmt.Errorf("case %q: %w", id, domain.ErrNotFound)
	}
	c, err := domain.RestoreCase(s.snap)
	if err != nil {
		return err
	}
	extra, err := fn(c, s.consent)
	if err != nil {
		return err
	}
	m.cases[id] = stored{snap: c.Snapshot(), consent: s.consent}
	m.record(c, extra)
	c.ClearPending()
	return nil
}
