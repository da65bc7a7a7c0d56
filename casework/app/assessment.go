package app

import (
	"context"
	"fmt"
	"time"

	"github.com/hotline12345/hotline/casework/assessment"
	"github.com/hotline12345/hotline/casework/domain"
)

// AssessmentFeed is what the quarterly assessment reads from the store.
type AssessmentFeed interface {
	// AssessmentHistories streams the history of every case that can matter for
	// [from, to), at least the fields assessment.Summarize reads.
	AssessmentHistories(ctx context.Context, from, to time.Time, fn func(caseID string, h []domain.HistoryEntry) error) error
	DutyLineFailures(ctx context.Context, from, to time.Time) ([]assessment.DutyLineFailure, error)
}

// Assessor computes the quarterly unit assessment (C10).
type Assessor struct {
	Feed AssessmentFeed
	// Units lists the units to rank even without data (levels 2 and 3).
	Units func(ctx context.Context) ([]string, error)
	Rules assessment.Rules
	Clock func() time.Time
}

// Quarter assesses quarter q of year in Asia/Shanghai, as of now if the quarter
// is still running.
func (a Assessor) Quarter(ctx context.Context, year, q int) (assessment.Report, error) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		loc = time.FixedZone("CST", 8*3600)
	}
	period, err := assessment.Quarter(year, q, loc)
	if err != nil {
		return assessment.Report{}, &domain.ValidationError{Field: "quarter", Value: fmt.Sprintf("%d-Q%d", year, q), Reason: err.Error()}
	}
	clock := a.Clock
	if clock == nil {
		clock = time.Now
	}
	asOf := period.To
	if now := clock(); now.Before(asOf) {
		asOf = now
	}
	if !period.From.Before(asOf) {
		return assessment.Report{}, &domain.ValidationError{Field: "quarter", Value: fmt.Sprintf("%d-Q%d", year, q), Reason: "has not begun"}
	}
	in := assessment.Input{Period: period, AsOf: asOf, Rules: a.Rules}
	if in.Rules == (assessment.Rules{}) {
		in.Rules = assessment.DefaultRules()
	}
	if a.Units != nil {
		if in.Units, err = a.Units(ctx); err != nil {
			return assessment.Report{}, fmt.Errorf("assessment units: %w", err)
		}
	}
	err = a.Feed.AssessmentHistories(ctx, period.From, asOf, func(_ string, h []domain.HistoryEntry) error {
		in.Cases = append(in.Cases, assessment.Summarize(h)...)
		return nil
	})
	if err != nil {
		return assessment.Report{}, err
	}
	if in.DutyLineFailures, err = a.Feed.DutyLineFailures(ctx, period.From, asOf); err != nil {
		return assessment.Report{}, err
	}
	return assessment.Assess(in)
}
