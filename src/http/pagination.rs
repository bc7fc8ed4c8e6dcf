//! Cursor pagination, one state machine for lists, streams and feeds.
//!
//! Samsara pages carry `pagination: {endCursor, hasNextPage}`. A [`Paging`] keeps asking while
//! `hasNextPage` is true (through empty and short pages) and stops when it is false. Its
//! [`resume_cursor`](Paging::resume_cursor) is what a caller checkpoints after delivering a page: the
//! page's `endCursor`, or, when a caught-up feed answers with an empty one, the cursor that was
//! sent. Resuming means starting a new `Paging` from that cursor.

use serde::Deserialize;

/// `pagination` as Samsara sends it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Pagination {
    /// Pass as `after` to get the next page; may be empty on the last page.
    #[serde(rename = "endCursor", default)]
    pub end_cursor: String,
    /// More results are available right now.
    #[serde(rename = "hasNextPage", default)]
    pub has_next_page: bool,
}

/// Empty pages with `hasNextPage: true` tolerated in a row before the server is considered broken.
pub const MAX_EMPTY_PAGES: u32 = 1000;

/// Where a paged walk is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paging {
    cursor: Option<String>,
    done: bool,
    empty_in_a_row: u32,
}

impl Paging {
    /// A walk from the first page, or from `start` (a stored cursor).
    pub fn new(start: Option<String>) -> Self {
        Self {
            cursor: start.filter(|c| !c.is_empty()),
            done: false,
            empty_in_a_row: 0,
        }
    }

    /// The `after` to send next, or `None` when the walk is over. `Some(None)` sends no `after`.
    #[allow(clippy::option_option)] // Three states: done, first page (no `after`), a cursor.
    pub fn next_after(&self) -> Option<Option<&str>> {
        (!self.done).then_some(self.cursor.as_deref())
    }

    /// Whether the walk is over.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The cursor to store after the last page is delivered; `None` before any page of a fresh walk.
    pub fn resume_cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// Takes in a page's pagination (`None` for endpoints that send none) and how many records it had.
    pub fn advance(&mut self, pagination: Option<&Pagination>, records: usize) -> Result<(), String> {
        let Some(p) = pagination else {
            self.done = true;
            return Ok(());
        };
        if p.has_next_page && p.end_cursor.is_empty() {
            return Err("`pagination.hasNextPage` is true but `endCursor` is empty, so there is no way to the next page".into());
        }
        if records == 0 && p.has_next_page {
            self.empty_in_a_row += 1;
            if self.empty_in_a_row > MAX_EMPTY_PAGES {
                return Err(format!(
                    "the server sent {MAX_EMPTY_PAGES} empty pages in a row with `hasNextPage: true`"
                ));
            }
        } else {
            self.empty_in_a_row = 0;
        }
        if !p.end_cursor.is_empty() {
            self.cursor = Some(p.end_cursor.clone());
        }
        self.done = !p.has_next_page;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(cursor: &str, more: bool) -> Pagination {
        Pagination {
            end_cursor: cursor.into(),
            has_next_page: more,
        }
    }

    #[test]
    fn walks_until_has_next_page_is_false() {
        let mut p = Paging::new(None);
        assert_eq!(p.next_after(), Some(None));
        p.advance(Some(&page("c1", true)), 512).unwrap();
        assert_eq!(p.next_after(), Some(Some("c1")));
        p.advance(Some(&page("c2", true)), 0).unwrap(); // empty page, keep going
        assert_eq!(p.next_after(), Some(Some("c2")));
        p.advance(Some(&page("", false)), 3).unwrap(); // last page of a list
        assert_eq!(p.next_after(), None);
        assert_eq!(p.resume_cursor(), Some("c2"));
    }

    #[test]
    fn a_caught_up_feed_keeps_its_cursor() {
        let mut p = Paging::new(Some("stored".into()));
        assert_eq!(p.next_after(), Some(Some("stored")));
        p.advance(Some(&page("c9", false)), 10).unwrap();
        assert!(p.is_done());
        assert_eq!(p.resume_cursor(), Some("c9"));
        let mut idle = Paging::new(Some("c9".into()));
        idle.advance(Some(&page("", false)), 0).unwrap();
        assert_eq!(idle.resume_cursor(), Some("c9"));
    }

    #[test]
    fn broken_pagination_is_an_error() {
        let mut p = Paging::new(None);
        assert!(p
            .advance(Some(&page("", true)), 1)
            .unwrap_err()
            .contains("endCursor"));
        let mut p = Paging::new(None);
        for _ in 0..MAX_EMPTY_PAGES {
            p.advance(Some(&page("same", true)), 0).unwrap();
        }
        assert!(p.advance(Some(&page("same", true)), 0).is_err());
    }

    #[test]
    fn unpaged_responses_are_one_page() {
        let mut p = Paging::new(None);
        p.advance(None, 1).unwrap();
        assert!(p.is_done());
    }
}
