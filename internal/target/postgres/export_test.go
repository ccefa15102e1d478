package postgres

// SetCopyMinRows sets the smallest batch Write sends with COPY, for a test.
func SetCopyMinRows(n int) (restore func()) {
	old := copyMinRows
	copyMinRows = n
	return func() { copyMinRows = old }
}

// SetLookedUp sets a function run between the look-up of held keys and
// the COPY, for a test.
func SetLookedUp(f func()) (restore func()) {
	old := lookedUp
	lookedUp = f
	return func() { lookedUp = old }
}
