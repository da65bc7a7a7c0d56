// Package domain is the case model of the 12345 hotline: registration, transfer
// through the three-level unit network, deadlines, reminders, supervision,
// review, callback and archive, as the municipal regulations in the project's
// seeds describe them.
//
// It imports the standard library only. Constructors validate; every change is a
// method on Case that checks the actor's role and unit, consults the one state
// machine table (see transitions in state.go) and appends an immutable history
// entry; illegal moves return typed errors (*TransitionError, *ForbiddenError,
// *ValidationError, *ExtensionLimitError) that match the package's sentinels with
// errors.Is. Everything that needs a clock, a calendar, a sequence or a policy
// (case numbers, deadlines in working days, extension caps) is computed by the
// caller and passed in as plain values.
package domain
