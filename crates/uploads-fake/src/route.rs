//! The vocabulary of requests: which operation a request addresses ([`Route`])
//! and the parsed target ([`Endpoint`]). A leaf: imports nothing of the crate.

use hyper::Method;
use serde::{Deserialize, Serialize};

/// One of the API operations the fake serves; fault plans and request counts
/// are kept per route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Route {
    /// `POST /v1/uploads`
    Create,
    /// `POST /v1/uploads/{id}/parts`
    AddPart,
    /// `POST /v1/uploads/{id}/complete`
    Complete,
    /// `POST /v1/uploads/{id}/cancel`
    Cancel,
    /// `GET /v1/files`: the Files that completed uploads produced.
    ListFiles,
    /// `GET /v1/files/{file_id}`
    RetrieveFile,
}

impl Route {
    /// Every route, in declaration order (`route as usize` indexes it).
    pub(crate) const ALL: [Route; 6] = [
        Route::Create,
        Route::AddPart,
        Route::Complete,
        Route::Cancel,
        Route::ListFiles,
        Route::RetrieveFile,
    ];

    /// The HTTP method the route answers.
    pub(crate) fn method(self) -> Method {
        match self {
            Route::ListFiles | Route::RetrieveFile => Method::GET,
            Route::Create | Route::AddPart | Route::Complete | Route::Cancel => Method::POST,
        }
    }
}

/// A parsed request target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub route: Route,
    /// The object the path names: the upload (upload routes but create) or
    /// the file (retrieve).
    pub id: Option<String>,
}

impl Endpoint {
    /// The endpoint `path` addresses, `None` for an unknown path.
    pub fn parse(path: &str) -> Option<Endpoint> {
        if let Some(files) = path.strip_prefix("/v1/files") {
            return Self::parse_files(files);
        }
        let rest = path.strip_prefix("/v1/uploads")?;
        if rest.is_empty() {
            return Some(Endpoint {
                route: Route::Create,
                id: None,
            });
        }
        let (id, action) = rest.strip_prefix('/')?.split_once('/')?;
        if id.is_empty() || action.contains('/') {
            return None;
        }
        let route = match action {
            "parts" => Route::AddPart,
            "complete" => Route::Complete,
            "cancel" => Route::Cancel,
            _ => return None,
        };
        Some(Endpoint {
            route,
            id: Some(id.to_string()),
        })
    }
}

impl Endpoint {
    /// `rest`: what follows `/v1/files`.
    fn parse_files(rest: &str) -> Option<Endpoint> {
        if rest.is_empty() {
            return Some(Endpoint {
                route: Route::ListFiles,
                id: None,
            });
        }
        let id = rest.strip_prefix('/')?;
        if id.is_empty() || id.contains('/') {
            return None;
        }
        Some(Endpoint {
            route: Route::RetrieveFile,
            id: Some(id.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_routes_and_ids() {
        let at = |p: &str| Endpoint::parse(p).map(|e| (e.route, e.id));
        assert_eq!(at("/v1/uploads"), Some((Route::Create, None)));
        assert_eq!(
            at("/v1/uploads/u1/parts"),
            Some((Route::AddPart, Some("u1".into())))
        );
        assert_eq!(
            at("/v1/uploads/u1/complete"),
            Some((Route::Complete, Some("u1".into())))
        );
        assert_eq!(
            at("/v1/uploads/u1/cancel"),
            Some((Route::Cancel, Some("u1".into())))
        );
        assert_eq!(at("/v1/files"), Some((Route::ListFiles, None)));
        assert_eq!(
            at("/v1/files/file-1"),
            Some((Route::RetrieveFile, Some("file-1".into())))
        );
        for unknown in [
            "/v1/files/",
            "/v1/files/file-1/content",
            "/v1/uploadsx",
            "/v1/uploads//parts",
            "/v1/uploads/u1/x",
            "/v2/uploads",
        ] {
            assert_eq!(at(unknown), None, "{unknown}");
        }
        for (i, r) in Route::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
        }
    }
}
