// Package testhook holds fault-injection points that tests arm to reach
// moments of the runtime no signal sent from outside can hit reliably, such
// as a worker killed between reserving a record and committing it.
//
// Every hook is a nil func variable. The runtime calls a hook only after a
// nil check, and nothing in the runtime sets one: a test binary arms it in
// the worker process, from an init function, before any worker code runs
// (so no synchronisation is needed). A production binary pays one nil
// check per hook point and nothing else.
//
// The rule for changing this package: keep it a list of variables, with no
// imports and no code. A hook's doc says exactly where it is called and
// what it may do there.
package testhook
