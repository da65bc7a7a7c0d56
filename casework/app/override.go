package app

import (
	"fmt"

	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/policy"
)

// maxOverrideHours bounds a clock-hour limit the center sets: the policy names
// no maximum, but hours beyond a year are a typing error, and far larger ones
// overflow time.Duration into a deadline before the action.
const maxOverrideHours = 366 * 24

// checkOverride refuses a time limit set for one case (TransferInput.WorkingDays
// and Hours, ReviewInput.WorkingDays; 0 means the policy's) that the policy
// cannot count for this case. It runs before the deadline is computed so that the
// client's mistake is a *domain.ValidationError at the API field, not an internal
// error out of the policy. The fields are the API's names.
func (s *Service) checkOverride(c *domain.Case, days, hours int) error {
	urgency := s.terms(c, c.ReceivedAt(), c.Mode()).Urgency
	switch {
	case days < 0:
		return &domain.ValidationError{Field: "working_days", Value: fmt.Sprint(days), Reason: "must not be negative (0 or absent takes the policy's limit)"}
	case hours < 0:
		return &domain.ValidationError{Field: "hours", Value: fmt.Sprint(hours), Reason: "must not be negative (0 or absent takes the policy's limit)"}
	case urgency == policy.Normal && hours != 0:
		return &domain.ValidationError{Field: "hours", Value: fmt.Sprint(hours), Reason: "a normal case runs on working days: set working_days instead"}
	case urgency != policy.Normal && days != 0:
		return &domain.ValidationError{Field: "working_days", Value: fmt.Sprint(days),
			Reason: fmt.Sprintf("an %s case runs on clock hours: set hours instead", urgency)}
	case s.policy.Extension.MaxTotalDays > 0 && days > s.policy.Extension.MaxTotalDays:
		// The policy's cap on the whole time limit, extensions included.
		return &domain.ValidationError{Field: "working_days", Value: fmt.Sprint(days),
			Reason: fmt.Sprintf("at most %d working days, the total time limit of policy %s", s.policy.Extension.MaxTotalDays, s.policy.Name)}
	case hours > maxOverrideHours:
		return &domain.ValidationError{Field: "hours", Value: fmt.Sprint(hours), Reason: fmt.Sprintf("at most %d hours", maxOverrideHours)}
	}
	return nil
}
