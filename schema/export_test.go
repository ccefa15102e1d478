package schema

// KindEnd is one past the last Kind, for the external tests.
const KindEnd = kindEnd
