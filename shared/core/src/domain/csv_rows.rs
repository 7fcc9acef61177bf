//! Reading the CSV files operators upload (renewal linkage feeds, eligibility feeds): RFC 4180
//! as spreadsheets export it — an optional UTF-8 byte-order mark, CRLF or LF line ends, fields in
//! double quotes (with `""` for a quote and commas or line breaks inside), surrounding spaces
//! trimmed, blank lines skipped — with the line each record starts on, for error messages.

/// One record of a CSV text: the 1-based line it starts on and its fields, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub line: u32,
    pub fields: Vec<String>,
}

impl Record {
    /// The fields joined back with commas: how a header is compared with the expected one, so
    /// `"issuer","serial"` and `issuer,serial` are the same header.
    pub fn joined(&self) -> String {
        self.fields.join(",")
    }
}

/// A record that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    pub line: u32,
    pub why: String,
}

/// The records of `text` in order (the header is the first), skipping blank lines. Reading is
/// lazy: a caller that stops at a row limit does not read the rest.
pub fn records(text: &str) -> impl Iterator<Item = Result<Record, RecordError>> + '_ {
    Records::new(text)
}

/// The reader behind [`records`].
struct Records<'a> {
    reader: csv::Reader<&'a [u8]>,
    record: csv::StringRecord,
    failed: bool,
    lines: LineCounter<'a>,
}

impl<'a> Records<'a> {
    fn new(text: &'a str) -> Records<'a> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        Records { reader, record: csv::StringRecord::new(), failed: false, lines: LineCounter::new(text.as_bytes()) }
    }
}

impl Iterator for Records<'_> {
    type Item = Result<Record, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.failed {
                return None;
            }
            let start = self.reader.position().byte();
            match self.reader.read_record(&mut self.record) {
                Ok(false) => return None,
                Ok(true) => {
                    if self.record.iter().all(str::is_empty) {
                        continue;
                    }
                    let line = self.lines.line_at(self.record.position().map_or(start, csv::Position::byte));
                    return Some(Ok(Record { line, fields: self.record.iter().map(str::to_owned).collect() }));
                }
                Err(e) => {
                    self.failed = true;
                    let line = self.lines.line_at(e.position().map_or(start, csv::Position::byte));
                    return Some(Err(RecordError { line, why: "not a readable CSV record".into() }));
                }
            }
        }
    }
}

/// The line a record starts on, from its byte offset (the csv crate's own line counter lags
/// behind at record boundaries): the line ends before it, skipping those right at the offset.
/// Offsets only grow, so each byte is counted once however many records the text has.
struct LineCounter<'a> {
    bytes: &'a [u8],
    /// The offset counted up to, and the line ends before it.
    at: usize,
    newlines: usize,
    /// Bytes looked at so far (what keeps a 100,000-row feed linear).
    scanned: usize,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> LineCounter<'a> {
        LineCounter { bytes, at: 0, newlines: 0, scanned: 0 }
    }

    fn line_at(&mut self, byte: u64) -> u32 {
        let b = usize::try_from(byte).unwrap_or(usize::MAX).min(self.bytes.len());
        let skip = self.bytes[b..].iter().take_while(|c| matches!(c, b'\n' | b'\r')).count();
        let target = b + skip;
        if target < self.at {
            // Never happens with the csv reader's offsets; counted afresh rather than trusted.
            self.at = 0;
            self.newlines = 0;
        }
        let span = &self.bytes[self.at..target];
        self.newlines += span.iter().filter(|c| **c == b'\n').count();
        self.scanned += span.len() + skip;
        self.at = target;
        u32::try_from(self.newlines + 1).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str) -> Vec<(u32, Vec<String>)> {
        records(text).map(|r| r.unwrap()).map(|r| (r.line, r.fields)).collect()
    }

    #[test]
    fn plain_and_quoted_fields_read_the_same() {
        let plain = all("a,b,c\n1, 2 ,3\n");
        let quoted = all("\u{feff}\"a\",\"b\",\"c\"\r\n\"1\",\" 2 \",\"3\"\r\n");
        assert_eq!(plain, quoted);
        assert_eq!(plain[1], (2, vec!["1".to_owned(), "2".to_owned(), "3".to_owned()]));
    }

    #[test]
    fn quotes_commas_and_line_breaks_inside_a_field_and_line_numbers_after_them() {
        let got = all("h1,h2\n\n\"x, \"\"y\"\"\",\"two\nlines\"\n   \nlast,row\n");
        assert_eq!(got[0].0, 1);
        assert_eq!(got[1], (3, vec!["x, \"y\"".to_owned(), "two\nlines".to_owned()]));
        assert_eq!(got[2], (6, vec!["last".to_owned(), "row".to_owned()]), "blank and whitespace lines skipped");
        assert_eq!(got.len(), 3);
    }

    #[test]
    fn records_keep_their_own_field_count() {
        let got = all("a,b,c\n1,2\n1,2,3,4\n");
        assert_eq!(got.iter().map(|r| r.1.len()).collect::<Vec<_>>(), [3, 2, 4]);
        assert_eq!(records("\"a\",\"b\"").next().unwrap().unwrap().joined(), "a,b");
    }

    #[test]
    fn a_long_feed_is_read_in_one_pass() {
        let mut text = String::from("issuer,serial\n");
        for i in 0..100_000 {
            text.push_str(&format!("JPKI,{i:08}\n\n"));
        }
        let mut it = Records::new(&text);
        let mut n = 0;
        let mut last = 0;
        for r in it.by_ref() {
            last = r.unwrap().line;
            n += 1;
        }
        assert_eq!((n, last), (100_001, 200_000));
        // Every byte once, plus the line ends skipped at each record's start.
        assert!(it.lines.scanned <= 2 * text.len(), "{} bytes looked at for {}", it.lines.scanned, text.len());
    }

    proptest::proptest! {
        #[test]
        fn any_text_reads_without_panicking_and_lines_only_grow(text in "[a-z0-9,\" \r\n]{0,200}") {
            let mut last = 0;
            for r in records(&text) {
                let line = match r { Ok(r) => r.line, Err(e) => e.line };
                proptest::prop_assert!(line >= last.max(1));
                proptest::prop_assert!(line as usize <= text.split('\n').count());
                last = line;
            }
        }
    }
}
