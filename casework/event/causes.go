package event

import "strconv"

// CauseText names a Q.850 hang-up cause (CallEndedPayload.HangupCause) as
// Asterisk does (ast_cause2str), for the events whose hang-up Asterisk
// reported with a code only (a channel torn down by an Asterisk restart, a
// request that raced the caller's hang-up). Unknown codes are "Cause N".
func CauseText(cause int) string {
	if s, ok := q850[cause]; ok {
		return s
	}
	return "Cause " + strconv.Itoa(cause)
}

var q850 = map[int]string{
	0: "Unknown", 1: "Unallocated (unassigned) number", 2: "No route to specified transmit network",
	3: "No route to destination", 4: "Send special information tone", 5: "Misdialled trunk prefix",
	6: "Channel unacceptable", 7: "Call awarded and being delivered in an established channel",
	8: "Preemption", 14: "Number ported but not found", 16: "Normal Clearing", 17: "User busy",
	18: "No user responding", 19: "User alerting, no answer", 20: "Subscriber absent", 21: "Call Rejected",
	22: "Number changed", 23: "Redirected to new destination", 26: "Answered elsewhere",
	27: "Destination out of order", 28: "Invalid number format", 29: "Facility rejected",
	30: "Response to STATus ENQuiry", 31: "Normal, unspecified", 34: "Circuit/channel congestion",
	38: "Network out of order", 41: "Temporary failure", 42: "Switching equipment congestion",
	43: "Access information discarded", 44: "Requested channel not available",
	50: "Facility not subscribed", 52: "Outgoing call barred", 54: "Incoming call barred",
	57: "Bearer capability not authorized", 58: "Bearer capability not available",
	65: "Bearer capability not implemented", 66: "Channel not implemented", 69: "Facility not implemented",
	81: "Invalid call reference value", 88: "Incompatible destination", 95: "Invalid message unspecified",
	96: "Mandatory information element is missing", 97: "Message type nonexist.",
	98: "Wrong message", 99: "Info. element nonexist or not implemented", 100: "Invalid information element contents",
	101: "Message not compatible with call state", 102: "Recover on timer expiry",
	103: "Mandatory IE length error", 111: "Protocol error, unspecified", 127: "Interworking, unspecified",
}

// Outcomes of an outbound leg (a duty line, an agent's phone, a callback) by
// the Q.850 cause it ended with before answering: the one mapping the call
// service's routing and callbacks share.
const (
	DialBusy       = "busy"
	DialNoAnswer   = "no_answer"
	DialRefused    = "refused"
	DialCongestion = "congestion"
	DialError      = "error"
)

// DialOutcome classifies the cause of an outbound leg that did not answer.
// An originate timeout reports 0 or 16 at times, so both count as no answer.
func DialOutcome(cause int) string {
	switch cause {
	case 17: // user busy
		return DialBusy
	case 0, 16, 18, 19: // no user responding, no answer
		return DialNoAnswer
	case 21: // call rejected
		return DialRefused
	case 1, 3, 20, 27, 28, 34, 38, 41, 42: // unallocated, no route, absent, out of order, congestion
		return DialCongestion
	}
	return DialError
}
