package event

// OmittedColumnsHeader is the record header of a row change published
// without the values of some columns because the row was larger than a
// Kafka record may be (capture --oversized skip-columns). Its value is a
// JSON array of the true column names, e.g. ["body"]; in the event those
// columns hold null (or the empty value of a NOT NULL column), not their
// value. Apply leaves these columns of the target row as they are.
const OmittedColumnsHeader = "syncline.omitted-columns"
