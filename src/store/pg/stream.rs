//! One table read page by page on a thread of its own, so that the server finds the next
//! page and the thread decodes it while the caller works on the one before. At most one page
//! waits in the channel: memory stays bounded however long the table. A connection is held
//! only while a page is fetched, as when the caller fetches pages itself.

use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;

use crate::store::StoreError;

/// A page fetched and decoded by the reader: empty at the end.
type Page<T> = Result<Vec<T>, StoreError>;

/// The items of a table, in the order the reader's pages hold them.
pub(super) struct Stream<T> {
    /// The reader's pages; `None` once the last was taken (or an error).
    pages: Option<Receiver<Page<T>>>,
    /// What is left of the page being read.
    page: std::vec::IntoIter<T>,
    /// The reader, joined when the stream is dropped, so that it never outlives the store.
    reader: Option<JoinHandle<()>>,
}

impl<T: Send + 'static> Stream<T> {
    /// Starts a reader calling `fetch` for page after page until one is empty or fails.
    pub(super) fn spawn(fetch: impl FnMut() -> Page<T> + Send + 'static) -> Self {
        let (sender, pages) = mpsc::sync_channel(1);
        let reader = std::thread::Builder::new().name("nudge-pg-read".to_owned());
        let reader = match reader.spawn({
            let sender = sender.clone();
            move || read(fetch, &sender)
        }) {
            Ok(reader) => Some(reader),
            Err(error) => {
                let reason = format!("a thread to read the database could not start ({error})");
                let _ = sender.try_send(Err(StoreError::Task(reason)));
                None
            }
        };
        Self { pages: Some(pages), page: Vec::new().into_iter(), reader }
    }
}

/// The reader: sends pages until the last, a failure, or a caller that went away.
fn read<T>(mut fetch: impl FnMut() -> Page<T>, pages: &SyncSender<Page<T>>) {
    loop {
        let page = fetch();
        let last = !matches!(&page, Ok(items) if !items.is_empty());
        if pages.send(page).is_err() || last {
            return;
        }
    }
}

impl<T> Iterator for Stream<T> {
    type Item = Result<T, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.page.next() {
                return Some(Ok(item));
            }
            let page = self.pages.as_ref()?.recv();
            match page {
                Ok(Ok(page)) if !page.is_empty() => self.page = page.into_iter(),
                Ok(Ok(_)) => self.pages = None,
                Ok(Err(error)) => {
                    self.pages = None;
                    return Some(Err(error));
                }
                Err(_) => {
                    self.pages = None;
                    return Some(Err(StoreError::Task("the thread reading the database stopped".to_owned())));
                }
            }
        }
    }
}

impl<T> Drop for Stream<T> {
    /// Tells the reader to stop (its next page finds no one to take it) and waits for it.
    fn drop(&mut self) {
        self.pages = None;
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}
