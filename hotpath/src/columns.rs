//! Arrow-layout column builders: offsets + UTF-8 data for strings, offsets + key/value strings for maps.

pub struct StrCol {
    pub offsets: Vec<i32>,
    pub data: Vec<u8>,
}

impl StrCol {
    pub fn with_capacity(rows: usize, bytes: usize) -> Self {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        StrCol { offsets, data: Vec::with_capacity(bytes) }
    }
    #[inline]
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }
    /// The finished value `i`.
    #[inline]
    pub fn get(&self, i: usize) -> &[u8] {
        &self.data[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }
    #[inline]
    fn end(&self) -> usize {
        *self.offsets.last().unwrap() as usize
    }
    /// Drop the value being written (a field seen twice: the last one wins).
    #[inline]
    pub fn reset_current(&mut self) {
        let end = self.end();
        self.data.truncate(end);
    }
    /// The value being written, not yet finished.
    #[inline]
    pub fn current(&self) -> &[u8] {
        &self.data[self.end()..]
    }
    #[inline]
    pub fn finish(&mut self) -> Result<(), String> {
        let n = self.data.len();
        if n > i32::MAX as usize {
            return Err("a string column passed 2 GiB: insert smaller chunks".into());
        }
        self.offsets.push(n as i32);
        Ok(())
    }
    #[inline]
    pub fn push(&mut self, s: &[u8]) -> Result<(), String> {
        self.data.extend_from_slice(s);
        self.finish()
    }
    pub fn truncate(&mut self, rows: usize) {
        self.offsets.truncate(rows + 1);
        let end = self.end();
        self.data.truncate(end);
    }
    pub fn repeat(&mut self, s: &[u8], n: usize) -> Result<(), String> {
        for _ in 0..n {
            self.push(s)?;
        }
        Ok(())
    }
}

pub struct MapCol {
    pub offsets: Vec<i32>,
    pub keys: StrCol,
    pub values: StrCol,
}

impl MapCol {
    pub fn with_capacity(rows: usize, entries: usize, bytes: usize) -> Self {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        MapCol { offsets, keys: StrCol::with_capacity(entries, bytes), values: StrCol::with_capacity(entries, bytes) }
    }
    #[inline]
    pub fn entries(&self) -> usize {
        self.keys.len()
    }
    #[inline]
    pub fn finish_row(&mut self) {
        self.offsets.push(self.keys.len() as i32);
    }
    /// Keep the first ``entries`` entries (and drop a value being written).
    pub fn truncate_entries(&mut self, entries: usize) {
        self.keys.truncate(entries);
        self.values.truncate(entries);
    }
    /// Whether the row whose entries begin at ``first`` already has ``key``.
    pub fn has_key(&self, first: usize, key: &[u8]) -> bool {
        (first..self.keys.len()).any(|i| self.keys.get(i) == key)
    }
    /// Whether two entries from ``first`` on share a key.
    pub fn shares_key(&self, first: usize) -> bool {
        let n = self.entries();
        repeats((first..n).map(|i| self.keys.get(i)), n - first)
    }
    pub fn truncate_rows(&mut self, rows: usize) {
        self.offsets.truncate(rows + 1);
        let entries = *self.offsets.last().unwrap() as usize;
        self.truncate_entries(entries);
    }
}

/// Whether `n` keys hold one twice.
pub fn repeats<'k>(keys: impl Iterator<Item = &'k [u8]> + Clone, n: usize) -> bool {
    if n <= 16 {
        keys.clone().enumerate().any(|(i, k)| keys.clone().take(i).any(|j| j == k))
    } else {
        let mut seen = std::collections::HashSet::with_capacity(n);
        !keys.into_iter().all(|k| seen.insert(k))
    }
}
