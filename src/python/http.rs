//! `ApiClient` and its page iterators. Network I/O and every wait run with the GIL released.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiter::{PythonParse, StringCacheMode};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use super::errors::{config_error, decode_error, page_error, CoreErr};
use crate::http::{ApiClient, ClientConfig, Method, Pagination, Paging, Region, Request, RetryPolicy};
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

#[pymethods]
impl PyApiClient {
    #[new]
    #[pyo3(signature = (
        token, *, base_url=None, region="us", api_version=None, user_agent_suffix=None,
        connect_timeout=10.0, request_timeout=60.0, max_attempts=5, base_delay=0.5, max_delay=30.0,
        max_elapsed=120.0, rate_limit=true,
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
        if let Some(s) = user_agent_suffix {
            config = config.user_agent_suffix(s);
        }
        let retry = RetryPolicy {
            max_attempts,
            base_delay: secs("base_delay", base_delay)?,
            max_delay: secs("max_delay", max_delay)?,
            max_elapsed: secs("max_elapsed", max_elapsed)?,
        };
        config = config
            .timeouts(
                secs("connect_timeout", connect_timeout)?,
                secs("request_timeout", request_timeout)?,
            )
            .retry(retry)
            .map_err(CoreErr::from)?
            .rate_limit(rate_limit);
        Ok(Self {
            inner: Arc::new(ApiClient::new(config).map_err(CoreErr::from)?),
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

    fn __repr__(&self) -> String {
        format!(
            "ApiClient(base_url={:?}, token=****)",
            self.inner.config().base_url()
        )
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
        };
        let client = &self.inner;
        let resp = py.detach(|| client.send(&req)).map_err(CoreErr::from)?;
        if resp.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(py.None().into_bound(py));
        }
        parse_json(py, &resp.body).map_err(|msg| decode_error(&msg, path, resp.attempts))
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
        PageWalk {
            client: Arc::clone(&self.inner),
            deadline: deadline.map(|d| self.inner.deadline_from_unix(d)),
            path,
            query: query.unwrap_or_default(),
            paging: Paging::new(after),
        }
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

/// The state of a paged walk, shared by both iterators.
struct PageWalk {
    client: Arc<ApiClient>,
    deadline: Option<Instant>,
    path: String,
    query: Vec<(String, String)>,
    paging: Paging,
}

impl PageWalk {
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
        convert_to_bytes(py, body, units).map_err(|e| PyValueError::new_err(e.to_string()))?;
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
