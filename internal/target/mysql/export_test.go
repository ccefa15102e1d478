package mysql

import "context"

// WithoutNativeTypes makes s treat its server as one without MariaDB's
// UUID, INET4 and INET6 types (as MySQL and older MariaDB are), after
// learning the rest about it.
func WithoutNativeTypes(ctx context.Context, s *Sink) error {
	if err := s.withConn(ctx, func(*conn) error { return nil }); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	info := *s.info
	info.uuid, info.inet4, info.inet6 = false, false, false
	s.info = &info
	return nil
}
