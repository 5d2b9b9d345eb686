package edge

import (
	"context"
	"fmt"
	"slices"

	"mediagate/apiv1"
)

// report sends the origin, in one request, the metered bytes of every lease
// that served since the last report, and the final count of each lease to
// close: spent ones whose last response ended, ones idle for m.idle, and
// those an earlier process left in the book. A lease's slot is freed once
// the origin has it closed. The request is also the edge's heartbeat, sent
// even when there is nothing to report. If it fails, everything is sent
// again next time: the origin keeps the highest count, and a repeated final
// count is no error.
func (m *meter) report(ctx context.Context) error {
	now := m.now()
	m.mu.Lock()
	closing := m.closing
	m.closing = nil
	accounts := make([]*account, 0, len(m.accounts))
	for _, a := range m.accounts {
		accounts = append(accounts, a)
	}
	m.mu.Unlock()

	var usages []apiv1.EdgeLeaseUsage
	var sent []*lease
	for _, a := range accounts {
		a.mu.Lock()
		if l := a.cur; l != nil && l.inflight == 0 && now.Sub(l.lastUse) >= m.idle {
			a.cur, l.retired = nil, true
			closing = append(closing, l)
		}
		// A lease is reported when it served since the last report, and
		// always while a response uses it: each report renews it at the
		// origin, so a long (or stalled) download keeps its lease.
		for _, l := range append([]*lease{a.cur}, a.draining...) {
			if l != nil && (l.inflight > 0 || m.book.metered(l.slot) != l.reported) {
				usages = append(usages, apiv1.EdgeLeaseUsage{ID: l.id, Used: m.book.metered(l.slot)})
				sent = append(sent, l)
			}
		}
		a.mu.Unlock()
	}
	for _, l := range closing {
		used := int64(0)
		if l.slot >= 0 {
			used = m.book.metered(l.slot)
		}
		usages = append(usages, apiv1.EdgeLeaseUsage{ID: l.id, Used: used, Close: true})
		sent = append(sent, l)
	}
	results, err := m.origin.ReportLeases(ctx, usages)
	if err == nil && len(results) != len(usages) {
		err = fmt.Errorf("the origin answered %d of %d lease reports", len(results), len(usages))
	}
	if err != nil {
		m.mu.Lock()
		m.closing = append(closing, m.closing...)
		m.mu.Unlock()
		return fmt.Errorf("report leases: %w", err)
	}
	for i, r := range results {
		l := sent[i]
		switch {
		case usages[i].Close:
			// Closed, or refused because it is closed or expired already:
			// either way the origin is done with it.
			if l.slot >= 0 {
				m.book.release(l.slot)
			}
		case r.Code == "":
			l.reported = r.Used
		default:
			m.kill(l)
		}
	}
	return nil
}

// kill stops using a lease the origin refused (it expired): it takes no
// more responses and is not reported again; its slot is freed once no
// response uses it.
func (m *meter) kill(l *lease) {
	a := m.account(l.account)
	a.mu.Lock()
	defer a.mu.Unlock()
	l.dead, l.retired = true, true
	if a.cur == l {
		a.cur = nil
		if l.inflight > 0 {
			a.draining = append(a.draining, l)
		}
	}
	if l.inflight == 0 {
		a.draining = slices.DeleteFunc(a.draining, func(d *lease) bool { return d == l })
		m.book.release(l.slot)
	}
}

// retireAll retires every open lease, so that the next report closes them
// all: the edge is stopping, and its responses have ended.
func (m *meter) retireAll() {
	m.mu.Lock()
	accounts := make([]*account, 0, len(m.accounts))
	for _, a := range m.accounts {
		accounts = append(accounts, a)
	}
	m.mu.Unlock()
	for _, a := range accounts {
		a.mu.Lock()
		if l := a.cur; l != nil {
			a.cur, l.retired = nil, true
			if l.inflight == 0 {
				m.queueClose(l)
			} else {
				a.draining = append(a.draining, l)
			}
		}
		a.mu.Unlock()
	}
}
