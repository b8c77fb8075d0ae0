//! Environment defaults (`OPENAI_API_KEY`, `OPENAI_BASE_URL`, `OPENAI_ORG_ID`,
//! `OPENAI_PROJECT_ID`). Environment variables are process-global, so this file (its own test
//! binary) holds exactly one test function and nothing else touches the environment.

use mockito::Matcher;
use serde_json::json;
use uploads_ext::{Client, ErrorKind};

const VARS: [&str; 4] = [
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
];

fn upload_json() -> String {
    json!({
        "id": "upload_env", "object": "upload", "bytes": 1, "created_at": 1,
        "filename": "f", "purpose": "batch", "status": "cancelled", "expires_at": 2
    })
    .to_string()
}

/// Restores the variables as they were, even if an assertion fails.
struct Restore(Vec<(&'static str, Option<std::ffi::OsString>)>);

impl Drop for Restore {
    fn drop(&mut self) {
        for (name, value) in &self.0 {
            match value {
                Some(v) => std::env::set_var(name, v),
                None => std::env::remove_var(name),
            }
        }
    }
}

#[tokio::test]
async fn environment_defaults_are_read_unless_ignored_or_overridden() {
    let _restore = Restore(VARS.iter().map(|v| (*v, std::env::var_os(v))).collect());
    let mut server = mockito::Server::new_async().await;

    // 1. Everything from the environment.
    std::env::set_var("OPENAI_API_KEY", "sk-from-env");
    std::env::set_var("OPENAI_BASE_URL", format!("{}/env/v1", server.url()));
    std::env::set_var("OPENAI_ORG_ID", "org-env");
    std::env::set_var("OPENAI_PROJECT_ID", "proj-env");
    let from_env = server
        .mock("POST", "/env/v1/uploads/upload_env/cancel")
        .match_header("authorization", "Bearer sk-from-env")
        .match_header("openai-organization", "org-env")
        .match_header("openai-project", "proj-env")
        .with_header("content-type", "application/json")
        .with_body(upload_json())
        .expect(2)
        .create_async()
        .await;
    let client = Client::from_env().expect("configured from the environment");
    assert_eq!(client.base_url(), format!("{}/env/v1", server.url()));
    client
        .cancel_upload("upload_env")
        .await
        .expect("cancel via env config");
    Client::builder()
        .build()
        .expect("builder reads the environment too")
        .cancel_upload("upload_env")
        .await
        .expect("cancel via builder");
    from_env.assert_async().await;

    // 2. Builder settings win over the environment.
    let overridden = server
        .mock("POST", "/v2/uploads/upload_env/cancel")
        .match_header("authorization", "Bearer sk-explicit")
        .match_header("openai-organization", "org-explicit")
        .match_header("openai-project", "proj-explicit")
        .with_header("content-type", "application/json")
        .with_body(upload_json())
        .expect(1)
        .create_async()
        .await;
    Client::builder()
        .api_key("sk-explicit")
        .base_url(format!("{}/v2", server.url()))
        .organization("org-explicit")
        .project("proj-explicit")
        .build()
        .unwrap()
        .cancel_upload("upload_env")
        .await
        .expect("cancel with explicit settings");
    overridden.assert_async().await;

    // 3. ignore_env: nothing from the environment counts.
    let err = Client::builder()
        .ignore_env()
        .build()
        .expect_err("the env key is ignored");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("OPENAI_API_KEY"), "{err}");
    let ignored = Client::builder()
        .ignore_env()
        .api_key("sk-explicit")
        .build()
        .unwrap();
    assert_eq!(ignored.base_url(), "https://api.openai.com/v1");
    let isolated = server
        .mock("POST", "/v3/uploads/upload_env/cancel")
        .match_header("authorization", "Bearer sk-explicit")
        .match_header("openai-organization", Matcher::Missing)
        .match_header("openai-project", Matcher::Missing)
        .with_header("content-type", "application/json")
        .with_body(upload_json())
        .expect(1)
        .create_async()
        .await;
    Client::builder()
        .ignore_env()
        .api_key("sk-explicit")
        .base_url(format!("{}/v3", server.url()))
        .build()
        .unwrap()
        .cancel_upload("upload_env")
        .await
        .expect("cancel ignoring the environment");
    isolated.assert_async().await;

    // 4. A blank or missing OPENAI_API_KEY is no key; blank optional variables are unset.
    std::env::set_var("OPENAI_API_KEY", "  ");
    let err = Client::from_env().expect_err("blank key");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("OPENAI_API_KEY"), "{err}");
    std::env::remove_var("OPENAI_API_KEY");
    let err = Client::from_env().expect_err("no key");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    std::env::set_var("OPENAI_API_KEY", "sk-from-env");
    std::env::set_var("OPENAI_BASE_URL", "");
    std::env::set_var("OPENAI_ORG_ID", "");
    assert_eq!(
        Client::from_env().unwrap().base_url(),
        "https://api.openai.com/v1"
    );
}
