#!/usr/bin/env bash
# deploy/demo/sipp-call.sh — place a test call into the hotline with SIPp.
#
#   deploy/demo/sipp-call.sh answered   # carrier call to 12345, must be answered
#   deploy/demo/sipp-call.sh rejected   # must be refused (401/403/404)
#
# Environment (defaults in brackets):
#   SIPP_TARGET    [127.0.0.1:${AST_SIP_PORT:-5060}]  Asterisk's SIP address
#   SIPP_FROM_IP   [${CARRIER_IP:-127.0.0.10}]        source address (the carrier
#                                                     is identified by it)
#   SIPP_NUMBER    [12345]       dialled number
#   SIPP_CALLER    [13800138000] calling number (From / P-Asserted-Identity)
#   SIPP_SECONDS   [20]          how long an answered call lasts (at least the
#                                16.6 s over which the scenario sends speech)
#   SIPP_LOCAL_PORT [5060]       SIPp's own SIP port on SIPP_FROM_IP
#
# Exit status is SIPp's: 0 when the call went as the scenario demands.
set -euo pipefail

DEMO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mode=${1:-answered}
case $mode in
answered) scenario=$DEMO_DIR/sipp/carrier-call.xml ;;
rejected) scenario=$DEMO_DIR/sipp/rejected-call.xml ;;
*)
    echo "usage: $0 answered|rejected" >&2
    exit 2
    ;;
esac

target=${SIPP_TARGET:-127.0.0.1:${AST_SIP_PORT:-5060}}
from_ip=${SIPP_FROM_IP:-${CARRIER_IP:-127.0.0.10}}
seconds=${SIPP_SECONDS:-20}
# The scenario's speech ends at 16.6 s; -d is the silence after it.
silence_ms=$((seconds * 1000 - 16600))
((silence_ms > 0)) || silence_ms=0
log_dir=$(mktemp -d /tmp/sipp-call.XXXXXX)

echo "sipp: $mode call from $from_ip to ${SIPP_NUMBER:-12345}@$target (caller ${SIPP_CALLER:-13800138000}; logs in $log_dir)"
cd "$log_dir"
# -m 1: one call; -nostdin: plain foreground run that ends with the call;
# -trace_err/-trace_msg: the SIP messages, for the post-mortem.
sipp "$target" -sf "$scenario" -m 1 -l 1 \
    -i "$from_ip" -p "${SIPP_LOCAL_PORT:-5060}" -mi "$from_ip" \
    -s "${SIPP_NUMBER:-12345}" -key caller "${SIPP_CALLER:-13800138000}" \
    -d "$silence_ms" -timeout "$((seconds + 30))s" -timeout_error \
    -recv_timeout 10000 \
    -trace_msg -trace_err -nostdin && rc=0 || rc=$?
echo "sipp: exit $rc"
exit "$rc"
