//! Account operations shared by the command line, the bootstrap at start and the
//! HTTP API: creating users with hashed passwords, checking passwords, issuing
//! HelpCrunch API keys.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, mpsc};

use anyhow::Context;
use tokio::sync::oneshot;

use crate::domain::api_keys::ApiKeySecret;
use crate::domain::ids::{meteor_id, secret_token};
use crate::domain::password::{hash_password, verify_password};
use crate::domain::permissions::ROLE_ADMIN;
use crate::domain::time::{Millis, now_millis};
use crate::store::{API_KEY_NAME_TAKEN, ApiKey, NewApiKey, NewUser, Store, StoreError, User};

pub struct UserRequest {
    pub username: String,
    pub password: String,
    pub email: Option<String>,
    pub name: String,
    pub roles: Vec<String>,
    pub active: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("username {0} is already in use")]
    UsernameTaken(String),
    #[error("email {0} is already in use")]
    EmailTaken(String),
    #[error("unknown role")]
    UnknownRole,
    #[error(transparent)]
    Store(StoreError),
}

/// Work handed to the password threads.
type PasswordJob = Box<dyn FnOnce() + Send>;

/// Argon2 runs on threads of its own, one per core. A burst of logins queues here
/// instead of using more cores, and memory stays bounded: each run needs a 19 MiB
/// block, and each of these threads' allocators keeps reusing the one it has, where
/// the many threads of the blocking pool would each keep one.
static PASSWORD_WORKERS: LazyLock<mpsc::Sender<PasswordJob>> = LazyLock::new(|| {
    let (sender, receiver) = mpsc::channel::<PasswordJob>();
    let receiver = Arc::new(Mutex::new(receiver));
    let threads = std::thread::available_parallelism().map_or(2, NonZeroUsize::get);
    for index in 0..threads {
        let receiver = Arc::clone(&receiver);
        std::thread::Builder::new()
            .name(format!("password-{index}"))
            .spawn(move || {
                loop {
                    let job = receiver.lock().expect("a password thread never panics holding the lock").recv();
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            })
            .expect("the password threads start");
    }
    sender
});

/// Runs argon2 work on the password threads and waits for its result.
async fn password_work<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = oneshot::channel();
    let job: PasswordJob = Box::new(move || {
        let _ = done.send(work());
    });
    PASSWORD_WORKERS.send(job).expect("the password threads run as long as the process");
    result.await.expect("password work does not panic")
}

/// The password checks of logins: a bounded queue in front of the password threads.
///
/// A check takes tens of milliseconds of one core, so a flood of logins would
/// otherwise queue without end and a real login would wait behind all of it. Past
/// `limit` checks waiting or running, a login is refused at once (the caller answers
/// 503 with Retry-After) and the server sheds load instead.
#[derive(Debug)]
pub struct PasswordChecks {
    pending: Arc<AtomicUsize>,
    limit: usize,
}

/// The password checks are full: `limit` are waiting or running.
#[derive(Debug)]
pub struct PasswordChecksFull;

impl PasswordChecks {
    pub fn new(limit: usize) -> Self {
        Self { pending: Arc::default(), limit }
    }

    /// Whether `password` matches `hash`, checked on the password threads, or
    /// `PasswordChecksFull` without checking when `limit` checks are pending.
    pub async fn check(&self, password: String, hash: String) -> Result<bool, PasswordChecksFull> {
        let limit = self.limit;
        self.pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |pending| (pending < limit).then_some(pending + 1))
            .map_err(|_| PasswordChecksFull)?;
        // The slot is released by the job itself: a login whose client went away
        // leaves its job queued, and the job still counts until it has run.
        let pending = Arc::clone(&self.pending);
        Ok(password_work(move || {
            let matches = verify_password(&password, &hash);
            pending.fetch_sub(1, Ordering::AcqRel);
            matches
        })
        .await)
    }
}

/// Hashes the password off the async runtime and stores the user with its roles,
/// created at `now`.
pub async fn create_user(store: &Store, request: UserRequest, now: Millis) -> Result<User, CreateUserError> {
    let password = request.password.clone();
    let password_hash = password_work(move || hash_password(&password)).await;
    let id = meteor_id();
    let created = store
        .create_user(NewUser {
            id: &id,
            username: &request.username,
            name: &request.name,
            email: request.email.as_deref(),
            password_hash: Some(&password_hash),
            roles: &request.roles,
            active: request.active,
            now,
        })
        .await;
    created.map_err(|error| match error {
        error if error.is_conflict_on("username") => CreateUserError::UsernameTaken(request.username),
        error if error.is_conflict_on("email") => CreateUserError::EmailTaken(request.email.unwrap_or_default()),
        StoreError::NotFound => CreateUserError::UnknownRole,
        other => CreateUserError::Store(other),
    })
}

/// The administrator to create at start when nobody has the role admin.
pub struct BootstrapAdmin {
    pub username: Option<String>,
    pub password: Option<String>,
    pub email: Option<String>,
}

/// Creates the bootstrap administrator unless an admin exists. Without a configured
/// password, a random one is generated and logged once.
pub async fn ensure_admin(store: &Store, admin: BootstrapAdmin) -> anyhow::Result<()> {
    if store.any_user_has_role(ROLE_ADMIN).await? {
        return Ok(());
    }
    // An empty setting (as container files pass an unset variable) means "not set".
    let given = |value: Option<String>| value.filter(|value| !value.trim().is_empty());
    let username = given(admin.username).unwrap_or_else(|| "admin".to_owned());
    let password = given(admin.password);
    let generated = password.is_none();
    let password = password.unwrap_or_else(secret_token);
    let user = create_user(
        store,
        UserRequest {
            username: username.clone(),
            password: password.clone(),
            email: given(admin.email),
            name: "Administrator".to_owned(),
            roles: vec![ROLE_ADMIN.to_owned(), "user".to_owned()],
            active: true,
        },
        now_millis(),
    )
    .await
    .context("creating the bootstrap administrator")?;
    if generated {
        tracing::warn!(
            username = %username,
            user_id = %user.id,
            password = %password,
            "created the administrator with a generated password, shown only this once"
        );
    } else {
        tracing::info!(username = %username, user_id = %user.id, "created the configured administrator");
    }
    Ok(())
}

/// A key just issued: `key` is shown once and never stored.
pub struct IssuedApiKey {
    pub api_key: ApiKey,
    pub key: String,
}

#[derive(Debug, thiserror::Error)]
pub enum IssueApiKeyError {
    #[error("an API key needs a name")]
    BlankName,
    #[error("an API key named {0:?} already exists")]
    NameTaken(String),
    #[error(transparent)]
    Store(StoreError),
}

/// Generates a key and stores its digest under `name` (trimmed, not blank, unique),
/// created at `now`.
pub async fn issue_api_key(store: &Store, name: &str, now: Millis) -> Result<IssuedApiKey, IssueApiKeyError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(IssueApiKeyError::BlankName);
    }
    let secret = ApiKeySecret::generate();
    let digest = secret.digest();
    let stored = store.create_api_key(NewApiKey { name, prefix: secret.prefix(), digest: &digest, now }).await;
    match stored {
        Ok(api_key) => Ok(IssuedApiKey { api_key, key: secret.key().to_owned() }),
        Err(error) if error.is_conflict_on(API_KEY_NAME_TAKEN) => Err(IssueApiKeyError::NameTaken(name.to_owned())),
        Err(error) => Err(IssueApiKeyError::Store(error)),
    }
}
