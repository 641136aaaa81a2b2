//! Plain-text tables with aligned columns.

/// Text shown in a cell that has no value.
pub const EMPTY_CELL: &str = "-";

/// A table: a header row and data rows, rendered with columns padded to their widest cell.
#[derive(Debug)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table with these column headers.
    pub fn new(headers: &[&str]) -> Self {
        Self {
            headers: headers.iter().map(|header| (*header).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row; empty cells show as [`EMPTY_CELL`], missing cells are left blank.
    pub fn push(&mut self, cells: Vec<String>) {
        let cells = cells
            .into_iter()
            .map(|cell| {
                if cell.is_empty() {
                    EMPTY_CELL.to_owned()
                } else {
                    cell
                }
            })
            .collect();
        self.rows.push(cells);
    }

    /// The table as lines of text, two spaces between columns, no trailing spaces.
    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|header| width(header)).collect();
        for row in &self.rows {
            for (column, cell) in row.iter().enumerate() {
                if let Some(widest) = widths.get_mut(column) {
                    *widest = (*widest).max(width(cell));
                }
            }
        }
        let mut text = String::new();
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            let mut line = String::new();
            for (column, cell) in row.iter().enumerate() {
                let column_width = widths.get(column).copied().unwrap_or(0);
                let padding = column_width.saturating_sub(width(cell));
                line.push_str(cell);
                line.push_str(&" ".repeat(padding + 2));
            }
            text.push_str(line.trim_end());
            text.push('\n');
        }
        text
    }
}

/// Width of a cell in characters (good enough for the ASCII-heavy content of this tool).
fn width(text: &str) -> usize {
    text.chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_aligned_and_empty_cells_marked() {
        let mut table = Table::new(&["#", "ID", "STATE"]);
        table.push(vec![
            "1".into(),
            "imei:356938035643809".into(),
            "ready".into(),
        ]);
        table.push(vec!["12".into(), "".into(), "offline (unplugged)".into()]);
        assert_eq!(
            table.render(),
            "#   ID                    STATE\n\
             1   imei:356938035643809  ready\n\
             12  -                     offline (unplugged)\n"
        );
    }

    #[test]
    fn non_ascii_text_is_measured_in_characters() {
        let mut table = Table::new(&["TEXT", "X"]);
        table.push(vec!["Grüße".into(), "1".into()]);
        assert_eq!(table.render(), "TEXT   X\nGrüße  1\n");
    }
}
