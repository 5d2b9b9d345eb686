// Package safedial guards the server's own outbound HTTP requests (job
// callbacks now, bulk fetches later) against server-side request forgery.
//
// The contract:
//
//   - Only public unicast addresses are dialed (see Public), plus the ranges a
//     Dialer lists in Allow; Dialer.AllowPrivate turns the guard off, for tests,
//     benchmarks and operators whose receivers live on a private network.
//   - The address is judged after DNS, on the address actually being
//     connected to: DialContext drops refused addresses from the resolved
//     set, and the net.Dialer Control hook checks every connect(2) again, so
//     neither a redirect, nor a cached or rebinding DNS answer, nor an
//     IPv4-mapped, IPv4-compatible or NAT64 IPv6 form, nor a decimal, hex or
//     octal host form can reach a private address. The hook is the authority;
//     the earlier checks only make refusals cheap and their errors clear.
//   - Refusals wrap ErrBlocked ("not a public unicast address"); malformed or
//     ambiguous URLs and hosts wrap ErrInvalidURL; too long a redirect chain
//     wraps ErrTooManyRedirects. All three are permanent: retrying cannot help.
//   - CheckURL is the syntax gate every fetched URL and every redirect target
//     passes: http or https, a host, no userinfo, a port in 1–65535, and no
//     host that some resolver would read as a number (127.1, 2130706433,
//     0x7f000001, 0177.0.0.1).
//   - A Resolver caches and coalesces lookups for a fetch engine dialing
//     thousands of hosts; what it returns is still checked at connect time.
package safedial
