//! Splits a streamed body into lines as the chunks arrive, without holding the body.
//! For CSV a newline inside a quoted field does not end the record.

/// One line and its 1-based number in the body.
pub struct Line {
    pub number: usize,
    pub bytes: Vec<u8>,
}

pub struct LineSplitter {
    buf: Vec<u8>,
    scanned: usize,
    csv: bool,
    in_quotes: bool,
    next_number: usize,
}

impl LineSplitter {
    pub fn new(csv: bool) -> Self {
        Self { buf: Vec::new(), scanned: 0, csv, in_quotes: false, next_number: 1 }
    }

    /// Adds a chunk and moves every complete line into `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<Line>) {
        self.buf.extend_from_slice(chunk);
        let mut start = 0;
        let mut i = self.scanned;
        while i < self.buf.len() {
            match self.buf[i] {
                b'"' if self.csv => self.in_quotes = !self.in_quotes,
                b'\n' if !self.in_quotes => {
                    self.emit(start, i, out);
                    start = i + 1;
                }
                _ => {}
            }
            i += 1;
        }
        self.buf.drain(..start);
        self.scanned = self.buf.len();
    }

    /// The last line, when the body does not end with a newline.
    pub fn finish(&mut self, out: &mut Vec<Line>) {
        if !self.buf.is_empty() {
            let end = self.buf.len();
            self.emit(0, end, out);
            self.buf.clear();
        }
    }

    fn emit(&mut self, start: usize, end: usize, out: &mut Vec<Line>) {
        let mut line = &self.buf[start..end];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        let number = self.next_number;
        self.next_number += 1;
        if !line.iter().all(u8::is_ascii_whitespace) {
            out.push(Line { number, bytes: line.to_vec() });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&str], csv: bool) -> Vec<(usize, String)> {
        let mut s = LineSplitter::new(csv);
        let mut out = Vec::new();
        for c in chunks {
            s.push(c.as_bytes(), &mut out);
        }
        s.finish(&mut out);
        out.into_iter().map(|l| (l.number, String::from_utf8(l.bytes).unwrap())).collect()
    }

    #[test]
    fn lines_split_across_chunks_are_joined_and_numbered() {
        assert_eq!(
            split(&["{\"a\":", "1}\n{\"b\"", ":2}\r\n\n{\"c\":3}"], false),
            vec![(1, "{\"a\":1}".into()), (2, "{\"b\":2}".into()), (4, "{\"c\":3}".into())]
        );
    }

    #[test]
    fn a_quoted_newline_does_not_end_a_csv_record() {
        assert_eq!(split(&["a,\"x\ny\",b\nc,d\n"], true), vec![(1, "a,\"x\ny\",b".into()), (2, "c,d".into())]);
    }
}
