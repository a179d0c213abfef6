// Package health runs the runbook's automated health checks, in the
// spirit of gatus: each check calls an endpoint with a timeout and
// evaluates conditions on the answer ("[STATUS] == 200", "[BODY].status ==
// ok", "[BODY].queues.*.waiting < 1000", "[RESPONSE_TIME] < 2s"). A check
// that fails FailureThreshold times in a row becomes a firing signal of its
// category (a failed /health is service-down, queue figures over their
// thresholds are queue-backlog); one that passes SuccessThreshold times in a
// row becomes the recovery.
//
// The parts, from pure to effectful:
//
//   - Config and Check: the checks as JSON (the embedded checks.json, or
//     the HEALTH_CHECKS environment variable), validated and with every
//     condition parsed once, at load.
//   - Condition: one parsed condition and its Evaluate on a Response. A
//     body that is not JSON (an HTML error page) fails every body
//     condition with a reason that says so; a wildcard holds when every
//     element does, and its failure names the elements that do not.
//   - Checker: runs every check in parallel over an HTTP client, each
//     within its own timeout; a connection error or timeout fails the
//     check with the reason.
//   - Step: the pure state transition from a kept State and a new Result
//     to the next State and, when a threshold is crossed, the Signal. An
//     endpoint flapping between failing and passing is reported as one
//     ongoing signal, not a storm.
//   - Handler: runs the checks, keeps the states in a StateStore with a
//     version condition, and hands each signal to an Ingester, saving it
//     as pending first so that a failed delivery is retried by the next
//     run under the same EventID.
package health
