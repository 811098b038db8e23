//! An object store for fault tests: every call passes to an inner store, except PUTs,
//! which a [`PutFilter`] handles (failing them, or answering them otherwise).

use std::sync::Arc;

use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
};

/// What a [`PutFiltered`] store does with a PUT: usually `inner.put_opts(…)` with a
/// fault before or after it.
#[async_trait::async_trait]
pub trait PutFilter: std::fmt::Debug + Send + Sync + 'static {
    async fn put(
        &self,
        inner: &dyn ObjectStore,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult>;
}

/// `inner` with its PUTs handed to `filter`.
#[derive(Debug)]
pub struct PutFiltered<F> {
    pub inner: Arc<dyn ObjectStore>,
    pub filter: F,
}

impl<F: PutFilter> PutFiltered<F> {
    pub fn new(inner: Arc<dyn ObjectStore>, filter: F) -> Arc<Self> {
        Arc::new(PutFiltered { inner, filter })
    }
}

impl<F: PutFilter> std::fmt::Display for PutFiltered<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}({})", self.filter, self.inner)
    }
}

#[async_trait::async_trait]
impl<F: PutFilter> ObjectStore for PutFiltered<F> {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        self.filter
            .put(self.inner.as_ref(), location, payload, opts)
            .await
    }
    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }
    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }
    fn delete_stream(
        &self,
        locations: futures::stream::BoxStream<'static, Result<Path>>,
    ) -> futures::stream::BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }
    fn list(
        &self,
        prefix: Option<&Path>,
    ) -> futures::stream::BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }
    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }
    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

/// Takes one from `counter` unless it is 0: whether it was not 0 yet.
pub fn take_one(counter: &std::sync::atomic::AtomicUsize) -> bool {
    use std::sync::atomic::Ordering::SeqCst;
    counter
        .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
        .is_ok()
}
