//! `ApiClient` (Samsara), `FmcClient` (an FMC endpoint) and their page iterators: two profiles of one
//! transport. Network I/O and every wait run with the GIL released.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiter::{PythonParse, StringCacheMode};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use super::errors::{body_error, config_error, decode_error, page_error, CoreErr};
use crate::http::{
    ApiClient, ClientConfig, Method, Pagination, Paging, Region, Request, RetryPolicy,
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT,
};
use crate::stats::{convert_stats_page, Converted, PageError, UnitSystem};

/// The client (`samsara_fmc.Client` wraps it).
#[pyclass(name = "ApiClient", module = "samsara_fmc._core", frozen)]
pub(crate) struct PyApiClient {
    inner: Arc<ApiClient>,
}

fn secs(name: &str, v: f64) -> PyResult<Duration> {
    if v.is_finite() && v >= 0.0 {
        Ok(Duration::from_secs_f64(v))
    } else {
        Err(config_error(format!(
            "`{name}` must be a finite number of seconds ≥ 0, got `{v}`"
        )))
    }
}

/// The options both clients take, as Python passes them.
struct Options<'a> {
    user_agent_suffix: Option<&'a str>,
    connect_timeout: f64,
    request_timeout: f64,
    max_attempts: u32,
    base_delay: f64,
    max_delay: f64,
    max_elapsed: f64,
    rate_limit: bool,
}

impl Options<'_> {
    /// `config` with these options applied, as a client.
    fn build(&self, mut config: ClientConfig) -> PyResult<Arc<ApiClient>> {
        if let Some(s) = self.user_agent_suffix {
            config = config.user_agent_suffix(s);
        }
        let retry = RetryPolicy {
            max_attempts: self.max_attempts,
            base_delay: secs("base_delay", self.base_delay)?,
            max_delay: secs("max_delay", self.max_delay)?,
            max_elapsed: secs("max_elapsed", self.max_elapsed)?,
        };
        config = config
            .timeouts(
                secs("connect_timeout", self.connect_timeout)?,
                secs("request_timeout", self.request_timeout)?,
            )
            .retry(retry)
            .map_err(CoreErr::from)?
            .rate_limit(self.rate_limit);
        Ok(Arc::new(ApiClient::new(config).map_err(CoreErr::from)?))
    }
}

// The defaults of both constructors, from the core (`_core` exports them to Python too).
const CONNECT_TIMEOUT: f64 = DEFAULT_CONNECT_TIMEOUT.as_secs_f64();
const REQUEST_TIMEOUT: f64 = DEFAULT_REQUEST_TIMEOUT.as_secs_f64();
const MAX_ATTEMPTS: u32 = RetryPolicy::DEFAULT.max_attempts;
const BASE_DELAY: f64 = RetryPolicy::DEFAULT.base_delay.as_secs_f64();
const MAX_DELAY: f64 = RetryPolicy::DEFAULT.max_delay.as_secs_f64();
const MAX_ELAPSED: f64 = RetryPolicy::DEFAULT.max_elapsed.as_secs_f64();

#[pymethods]
impl PyApiClient {
    #[new]
    #[pyo3(signature = (
        token, *, base_url=None, region="us", api_version=None, user_agent_suffix=None,
        connect_timeout=CONNECT_TIMEOUT, request_timeout=REQUEST_TIMEOUT, max_attempts=MAX_ATTEMPTS,
        base_delay=BASE_DELAY, max_delay=MAX_DELAY, max_elapsed=MAX_ELAPSED, rate_limit=true,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        token: &str,
        base_url: Option<&str>,
        region: &str,
        api_version: Option<&str>,
        user_agent_suffix: Option<&str>,
        connect_timeout: f64,
        request_timeout: f64,
        max_attempts: u32,
        base_delay: f64,
        max_delay: f64,
        max_elapsed: f64,
        rate_limit: bool,
    ) -> PyResult<Self> {
        let base = match base_url {
            Some(url) => url.to_owned(),
            None => region
                .parse::<Region>()
                .map_err(CoreErr::from)?
                .base_url()
                .to_owned(),
        };
        let mut config = ClientConfig::new(token, &base).map_err(CoreErr::from)?;
        if let Some(v) = api_version {
            config = config.api_version(v).map_err(CoreErr::from)?;
        }
        let options = Options {
            user_agent_suffix,
            connect_timeout,
            request_timeout,
            max_attempts,
            base_delay,
            max_delay,
            max_elapsed,
            rate_limit,
        };
        Ok(Self {
            inner: options.build(config)?,
        })
    }

    /// The base URL requests go to.
    #[getter]
    fn base_url(&self) -> &str {
        self.inner.config().base_url()
    }

    /// The `User-Agent` sent.
    #[getter]
    fn user_agent(&self) -> &str {
        self.inner.config().user_agent()
    }

    /// The `X-Samsara-Version` sent.
    #[getter]
    fn api_version(&self) -> &str {
        self.inner.config().api_version_str()
    }

    /// What the client has done since it was built: `(attempts, retries, rate_limited, paced_ms,
    /// backoff_ms)`, the last two the milliseconds spent waiting on its own pacing and between retries.
    fn counts(&self) -> (u64, u64, u64, u64, u64) {
        counts(&self.inner)
    }

    /// `ApiClient(base_url='https://…', token='****')`: Python's notation, never the token.
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let url = self.inner.config().base_url().into_pyobject(py)?;
        Ok(format!("ApiClient(base_url={}, token='****')", url.repr()?))
    }

    /// One request; the decoded JSON body, or `None` for an empty one.
    #[pyo3(signature = (method, path, *, query=None, body=None, idempotent=false, deadline=None))]
    #[allow(clippy::too_many_arguments)]
    fn request<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        path: &str,
        query: Option<Vec<(String, String)>>,
        body: Option<Vec<u8>>,
        idempotent: bool,
        deadline: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let method: Method = method.parse().map_err(config_error)?;
        let query = query.unwrap_or_default();
        let deadline = deadline.map(|d| self.inner.deadline_from_unix(d));
        let req = Request {
            method,
            path,
            query: &query,
            body: body.map(Into::into),
            idempotent,
            deadline,
            idempotency_key: None,
            content_type: None,
        };
        send_json(py, &self.inner, &req).map(|(body, _)| body)
    }

    /// Pages of `path` from `after` (a stored cursor) until `hasNextPage` is false.
    #[pyo3(signature = (path, *, query=None, after=None, deadline=None))]
    fn pages(
        &self,
        path: String,
        query: Option<Vec<(String, String)>>,
        after: Option<String>,
        deadline: Option<f64>,
    ) -> PageWalk {
        PageWalk::new(&self.inner, path, query, after, deadline)
    }

    /// Like `pages`, for vehicle stats: each page converted to NDJSON bytes in Rust.
    #[pyo3(signature = (path, *, query=None, after=None, units="metric", deadline=None))]
    fn stats_pages(
        &self,
        path: String,
        query: Option<Vec<(String, String)>>,
        after: Option<String>,
        units: &str,
        deadline: Option<f64>,
    ) -> PyResult<StatsPageIter> {
        let units: UnitSystem = units.parse().map_err(config_error)?;
        Ok(StatsPageIter {
            walk: self.pages(path, query, after, deadline),
            units,
        })
    }
}

/// Sends `req` with the GIL released; the decoded JSON body (`None` when empty) and whether the
/// server replayed an earlier answer.
fn send_json<'py>(
    py: Python<'py>,
    client: &ApiClient,
    req: &Request<'_>,
) -> PyResult<(Bound<'py, PyAny>, bool)> {
    let resp = py.detach(|| client.send(req)).map_err(CoreErr::from)?;
    if resp.body.iter().all(u8::is_ascii_whitespace) {
        return Ok((py.None().into_bound(py), resp.replayed));
    }
    let body = parse_json(py, &resp.body).map_err(|msg| decode_error(&msg, req.path, resp.attempts))?;
    Ok((body, resp.replayed))
}

/// A client for an FMC endpoint speaking the reference contract (`docs/fmc-api.yaml`); the FMC HTTP
/// sink (`samsara_fmc.sinks.fmc_http`) wraps it.
#[pyclass(name = "FmcClient", module = "samsara_fmc._core", frozen)]
pub(crate) struct PyFmcClient {
    inner: Arc<ApiClient>,
}

#[pymethods]
impl PyFmcClient {
    #[new]
    #[pyo3(signature = (
        base_url, token, *, user_agent_suffix=None, connect_timeout=CONNECT_TIMEOUT,
        request_timeout=REQUEST_TIMEOUT, max_attempts=MAX_ATTEMPTS, base_delay=BASE_DELAY,
        max_delay=MAX_DELAY, max_elapsed=MAX_ELAPSED, rate_limit=true,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        base_url: &str,
        token: &str,
        user_agent_suffix: Option<&str>,
        connect_timeout: f64,
        request_timeout: f64,
        max_attempts: u32,
        base_delay: f64,
        max_delay: f64,
        max_elapsed: f64,
        rate_limit: bool,
    ) -> PyResult<Self> {
        let options = Options {
            user_agent_suffix,
            connect_timeout,
            request_timeout,
            max_attempts,
            base_delay,
            max_delay,
            max_elapsed,
            rate_limit,
        };
        let config = ClientConfig::fmc(token, base_url).map_err(CoreErr::from)?;
        Ok(Self {
            inner: options.build(config)?,
        })
    }

    /// The FMC endpoint's base URL.
    #[getter]
    fn base_url(&self) -> &str {
        self.inner.config().base_url()
    }

    /// What the client has done since it was built: `(attempts, retries, rate_limited, paced_ms,
    /// backoff_ms)`, the last two the milliseconds spent waiting on its own pacing and between retries.
    fn counts(&self) -> (u64, u64, u64, u64, u64) {
        counts(&self.inner)
    }

    /// `FmcClient(base_url='https://…', token='****')`: Python's notation, never the token.
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let url = self.inner.config().base_url().into_pyobject(py)?;
        Ok(format!("FmcClient(base_url={}, token='****')", url.repr()?))
    }

    /// `POST /fmc/v1/streams/{stream}/records` with `body` (`{"records": [...]}`) under
    /// `idempotency_key`, retried after 429, 5xx, timeouts and cut-short answers (the key makes the
    /// repeat safe). Returns the decoded `UpsertResult` and whether the FMC replayed an earlier answer.
    #[pyo3(signature = (stream, idempotency_key, body, *, deadline=None))]
    fn post_batch<'py>(
        &self,
        py: Python<'py>,
        stream: &str,
        idempotency_key: &str,
        body: &[u8],
        deadline: Option<f64>,
    ) -> PyResult<(Bound<'py, PyAny>, bool)> {
        let valid = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-');
        if stream.is_empty() || stream.len() > 64 || !stream.bytes().all(valid) {
            return Err(config_error(format!(
                "invalid stream name `{stream}`: use 1 to 64 of letters, digits, `.`, `_` and `-`"
            )));
        }
        let path = format!("/fmc/v1/streams/{stream}/records");
        let req = Request::post(&path, bytes::Bytes::copy_from_slice(body))
            .idempotency_key(idempotency_key)
            .deadline(deadline.map(|d| self.inner.deadline_from_unix(d)));
        send_json(py, &self.inner, &req)
    }

    /// `PUT /fmc/v1/streams/{stream}/files/{name}` with the raw `body` of `content_type` under
    /// `idempotency_key`, retried as `post_batch` is (the key makes the repeat safe). Returns the
    /// decoded `FileResult` and whether the FMC replayed an earlier answer.
    #[pyo3(signature = (stream, name, idempotency_key, content_type, body, *, deadline=None))]
    #[allow(clippy::too_many_arguments)]
    fn put_file<'py>(
        &self,
        py: Python<'py>,
        stream: &str,
        name: &str,
        idempotency_key: &str,
        content_type: &str,
        body: &[u8],
        deadline: Option<f64>,
    ) -> PyResult<(Bound<'py, PyAny>, bool)> {
        let valid = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-');
        if stream.is_empty() || stream.len() > 64 || !stream.bytes().all(valid) {
            return Err(config_error(format!(
                "invalid stream name `{stream}`: use 1 to 64 of letters, digits, `.`, `_` and `-`"
            )));
        }
        if name.is_empty() || name.len() > 200 || !name.bytes().all(valid) || name.starts_with('.') {
            return Err(config_error(format!(
                "invalid file name `{name}`: use 1 to 200 of letters, digits, `.`, `_` and `-`, not starting with `.`"
            )));
        }
        if content_type.is_empty() || !content_type.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
            return Err(config_error(format!("invalid content type `{content_type}`")));
        }
        let path = format!("/fmc/v1/streams/{stream}/files/{name}");
        let req = Request::put_bytes(&path, bytes::Bytes::copy_from_slice(body), content_type)
            .idempotency_key(idempotency_key)
            .deadline(deadline.map(|d| self.inner.deadline_from_unix(d)));
        send_json(py, &self.inner, &req)
    }

    /// GET `path` (e.g. `/fmc/v1/streams`) and return the decoded body (`None` when empty).
    #[pyo3(signature = (path, *, query=None, deadline=None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        path: &str,
        query: Option<Vec<(String, String)>>,
        deadline: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let query = query.unwrap_or_default();
        let req = Request::get(path, &query).deadline(deadline.map(|d| self.inner.deadline_from_unix(d)));
        send_json(py, &self.inner, &req).map(|(body, _)| body)
    }

    /// Pages of a cursor list such as the changes feed (`/fmc/v1/changes`), from `after` until
    /// `hasNextPage` is false.
    #[pyo3(signature = (path, *, query=None, after=None, deadline=None))]
    fn pages(
        &self,
        path: String,
        query: Option<Vec<(String, String)>>,
        after: Option<String>,
        deadline: Option<f64>,
    ) -> PageWalk {
        PageWalk::new(&self.inner, path, query, after, deadline)
    }
}

/// The state of a paged walk, shared by both iterators.
struct PageWalk {
    client: Arc<ApiClient>,
    deadline: Option<Instant>,
    path: String,
    query: Vec<(String, String)>,
    paging: Paging,
}

impl PageWalk {
    fn new(
        client: &Arc<ApiClient>,
        path: String,
        query: Option<Vec<(String, String)>>,
        after: Option<String>,
        deadline: Option<f64>,
    ) -> Self {
        Self {
            client: Arc::clone(client),
            deadline: deadline.map(|d| client.deadline_from_unix(d)),
            path,
            query: query.unwrap_or_default(),
            paging: Paging::new(after),
        }
    }

    /// The next page's bytes and attempts, or `None` when the walk is over.
    fn fetch(&self, py: Python<'_>) -> PyResult<Option<(bytes::Bytes, u32)>> {
        let Some(after) = self.paging.next_after() else {
            return Ok(None);
        };
        let (client, path, query, deadline) = (&self.client, &self.path, &self.query, self.deadline);
        let resp = py
            .detach(|| client.get_page(path, query, after, deadline))
            .map_err(CoreErr::from)?;
        Ok(Some((resp.body, resp.attempts)))
    }

    fn advance(&mut self, pagination: Option<&Pagination>, records: usize, attempts: u32) -> PyResult<()> {
        self.paging
            .advance(pagination, records)
            .map_err(|msg| decode_error(&msg, &self.path, attempts))
    }
}

/// One page: its `data` as Python objects, and the cursor to checkpoint after delivering it.
#[pyclass(name = "Page", module = "samsara_fmc._core", frozen, get_all)]
pub(crate) struct PyPage {
    data: Py<PyAny>,
    cursor: Option<String>,
    has_next_page: bool,
}

#[pymethods]
impl PyPage {
    /// `<Page of 3 records cursor='c1' has_next_page=True>`: the count, not the data.
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let data = self.data.bind(py);
        let count = data.cast::<PyList>().map_or(1, PyListMethods::len);
        let cursor = self.cursor.as_deref().into_pyobject(py)?.into_any();
        let noun = if count == 1 { "record" } else { "records" };
        Ok(format!(
            "<Page of {count} {noun} cursor={} has_next_page={}>",
            cursor.repr()?,
            if self.has_next_page { "True" } else { "False" }
        ))
    }
}

#[pyclass(name = "PageIterator", module = "samsara_fmc._core")]
pub(crate) struct PageIter {
    walk: PageWalk,
}

impl From<PageWalk> for PageIter {
    fn from(walk: PageWalk) -> Self {
        Self { walk }
    }
}

#[pymethods]
impl PageIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Option<PyPage>> {
        let Some((body, attempts)) = self.walk.fetch(py)? else {
            return Ok(None);
        };
        let path = &self.walk.path;
        let doc = parse_json(py, &body).map_err(|msg| decode_error(&msg, path, attempts))?;
        let doc = doc
            .cast_into::<PyDict>()
            .map_err(|_| decode_error("the body is not a JSON object", path, attempts))?;
        let data = doc
            .get_item("data")?
            .ok_or_else(|| decode_error("the body has no `data`", path, attempts))?;
        let pagination = match doc.get_item("pagination")? {
            Some(p) if !p.is_none() => {
                Some(pagination_from_py(&p).map_err(|m| decode_error(&m, path, attempts))?)
            }
            _ => None,
        };
        let records = data.cast::<PyList>().map_or(1, PyListMethods::len);
        self.walk.advance(pagination.as_ref(), records, attempts)?;
        Ok(Some(PyPage {
            data: data.unbind(),
            cursor: self.walk.paging.resume_cursor().map(str::to_owned),
            has_next_page: !self.walk.paging.is_done(),
        }))
    }
}

/// `PageIterator` is what `pages()` returns to Python.
impl<'py> IntoPyObject<'py> for PageWalk {
    type Target = PageIter;
    type Output = Bound<'py, PageIter>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> Result<Self::Output, Self::Error> {
        Bound::new(py, PageIter::from(self))
    }
}

/// One converted stats page.
#[pyclass(name = "StatsPage", module = "samsara_fmc._core", frozen, get_all)]
pub(crate) struct PyStatsPage {
    ndjson: Py<PyBytes>,
    rejects: Py<PyBytes>,
    records: usize,
    rejected: usize,
    cursor: Option<String>,
    has_next_page: bool,
}

#[pymethods]
impl PyStatsPage {
    /// `<StatsPage records=512 rejected=0 cursor='…' has_next_page=True>`: the counts, not the bytes.
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let cursor = self.cursor.as_deref().into_pyobject(py)?.into_any();
        Ok(format!(
            "<StatsPage records={} rejected={} cursor={} has_next_page={}>",
            self.records,
            self.rejected,
            cursor.repr()?,
            if self.has_next_page { "True" } else { "False" }
        ))
    }
}

#[pyclass(name = "StatsPageIterator", module = "samsara_fmc._core")]
pub(crate) struct StatsPageIter {
    walk: PageWalk,
    units: UnitSystem,
}

#[pymethods]
impl StatsPageIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Option<PyStatsPage>> {
        let Some((body, attempts)) = self.walk.fetch(py)? else {
            return Ok(None);
        };
        let (ndjson, rejects, converted) = convert_to_bytes(py, &body, self.units)
            .map_err(|e| page_error(&e, "GET", &self.walk.path, attempts))?;
        self.walk.advance(
            converted.pagination.as_ref(),
            converted.records + converted.rejected,
            attempts,
        )?;
        Ok(Some(PyStatsPage {
            ndjson: ndjson.unbind(),
            rejects: rejects.unbind(),
            records: converted.records,
            rejected: converted.rejected,
            cursor: self.walk.paging.resume_cursor().map(str::to_owned),
            has_next_page: !self.walk.paging.is_done(),
        }))
    }
}

/// Converts one stats page body (as bytes) to `(ndjson, rejects, records, rejected, end_cursor, has_next_page)`.
#[pyfunction]
#[allow(clippy::type_complexity)]
pub(crate) fn convert_stats<'py>(
    py: Python<'py>,
    body: &[u8],
    units: &str,
) -> PyResult<(
    Bound<'py, PyBytes>,
    Bound<'py, PyBytes>,
    usize,
    usize,
    Option<String>,
    bool,
)> {
    let units: UnitSystem = units.parse().map_err(config_error)?;
    let (ndjson, rejects, converted) =
        convert_to_bytes(py, body, units).map_err(|e| body_error(e.to_string()))?;
    let (cursor, more) = converted
        .pagination
        .map_or((None, false), |p| (Some(p.end_cursor), p.has_next_page));
    Ok((
        ndjson,
        rejects,
        converted.records,
        converted.rejected,
        cursor,
        more,
    ))
}

/// Converts a stats page into `(ndjson, rejects)` bytes with the GIL released, through buffers kept
/// per thread between pages (fresh 200 KB buffers would be page-faulted in every time).
fn convert_to_bytes<'py>(
    py: Python<'py>,
    body: &[u8],
    units: UnitSystem,
) -> Result<(Bound<'py, PyBytes>, Bound<'py, PyBytes>, Converted), PageError> {
    BUFFERS.with_borrow_mut(|(out, rejects)| {
        out.clear();
        rejects.clear();
        let converted = py.detach(|| convert_stats_page(body, units, out, rejects));
        let bytes = converted.map(|c| (PyBytes::new(py, out), PyBytes::new(py, rejects), c));
        if out.capacity() > KEEP_BUFFER {
            *out = Vec::new();
        }
        if rejects.capacity() > KEEP_BUFFER {
            *rejects = Vec::new();
        }
        bytes
    })
}

thread_local! {
    /// Buffers `convert_to_bytes` keeps between calls on a thread, up to [`KEEP_BUFFER`] bytes each.
    static BUFFERS: std::cell::RefCell<(Vec<u8>, Vec<u8>)> = const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}
const KEEP_BUFFER: usize = 8 << 20;

fn parse_json<'py>(py: Python<'py>, body: &[u8]) -> Result<Bound<'py, PyAny>, String> {
    let parser = PythonParse {
        cache_mode: StringCacheMode::Keys,
        ..PythonParse::default()
    };
    parser
        .python_parse(py, body)
        .map_err(|e| format!("the body is not valid JSON: {}", e.description(body)))
}

fn pagination_from_py(p: &Bound<'_, PyAny>) -> Result<Pagination, String> {
    let p = p
        .cast::<PyDict>()
        .map_err(|_| "`pagination` is not an object".to_owned())?;
    let end_cursor = match p.get_item("endCursor").ok().flatten() {
        Some(c) if !c.is_none() => c
            .extract::<String>()
            .map_err(|_| "`pagination.endCursor` is not a string".to_owned())?,
        _ => String::new(),
    };
    let has_next_page = match p.get_item("hasNextPage").ok().flatten() {
        Some(h) => h
            .extract::<bool>()
            .map_err(|_| "`pagination.hasNextPage` is not a boolean".to_owned())?,
        None => false,
    };
    Ok(Pagination {
        end_cursor,
        has_next_page,
    })
}

fn counts(client: &ApiClient) -> (u64, u64, u64, u64, u64) {
    let c = client.counts();
    let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    (c.attempts, c.retries, c.rate_limited, ms(c.paced), ms(c.backoff))
}
