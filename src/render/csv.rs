//! CSV for `results` and `runs`, through the csv crate (RFC 4180 quoting) rather than by
//! hand.

use std::io::{self, Write};

/// Writes each record as one CSV line.
pub(crate) fn write_records(
    records: impl IntoIterator<Item = Vec<String>>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    for record in records {
        writer.write_record(&record).map_err(into_io)?;
    }
    writer.flush()
}

fn into_io(error: csv::Error) -> io::Error {
    match error.into_kind() {
        csv::ErrorKind::Io(error) => error,
        other => io::Error::other(format!("{other:?}")),
    }
}
