//! Lines of code: lines holding at least one token that is not a comment.

/// Marks code lines while the walker visits leaves, then answers range queries in O(1).
#[derive(Debug, Default)]
pub(crate) struct CodeLines {
    is_code: Vec<bool>,
    prefix: Vec<u32>,
}

impl CodeLines {
    pub fn new(line_count: usize) -> CodeLines {
        CodeLines {
            is_code: vec![false; line_count + 1],
            prefix: Vec::new(),
        }
    }

    /// Marks 0-based rows `start..=end` as holding code.
    pub fn mark(&mut self, start: usize, end: usize) {
        let end = end.min(self.is_code.len().saturating_sub(1));
        for row in start..=end {
            self.is_code[row] = true;
        }
    }

    /// Freezes the marks into prefix sums.
    pub fn finish(&mut self) {
        let mut acc = 0;
        self.prefix = std::iter::once(0)
            .chain(self.is_code.iter().map(|&c| {
                acc += u32::from(c);
                acc
            }))
            .collect();
    }

    /// Code lines among 0-based rows `start..=end`.
    pub fn count(&self, start: usize, end: usize) -> u32 {
        let last = self.prefix.len().saturating_sub(1);
        let (s, e) = (start.min(last), (end + 1).min(last));
        self.prefix[e].saturating_sub(self.prefix[s])
    }

    pub fn total(&self) -> u32 {
        self.prefix.last().copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_marked_rows_in_ranges() {
        let mut c = CodeLines::new(10);
        c.mark(1, 3);
        c.mark(7, 7);
        c.finish();
        assert_eq!(c.count(0, 9), 4);
        assert_eq!(c.count(2, 7), 3);
        assert_eq!(c.count(4, 6), 0);
        assert_eq!(c.total(), 4);
        assert_eq!(c.count(8, 100), 0);
    }
}
