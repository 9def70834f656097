//! The DDP methods, for sockets and for `method.call` alike: one table of names and
//! handlers ([`METHODS`]; a method is one entry), and the `livechat:*` methods. Each
//! calls the store or domain function its REST route calls, and answers Rocket.Chat's
//! errors as Meteor errors. A method's parameters are checked against their schema
//! first (every string bounded): a mismatch is Meteor's `400 Match failed`.

use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::frames::with_ejson_dates;
use super::session::{Identity, Refusal};
use crate::domain::permissions::{
    MANAGE_LIVECHAT_DEPARTMENTS, REMOVE_CLOSED_LIVECHAT_ROOM, SEND_OMNICHANNEL_CHAT_TRANSCRIPT, VIEW_L_ROOM,
};
use crate::domain::routing::RoutingMethod;
use crate::domain::settings::RoutingMethodSetting;
use crate::http::error::ApiError;
use crate::http::extract::checked;
use crate::http::rocketchat::departments::{DepartmentBody, DepartmentView, save_department};
use crate::http::rocketchat::inquiries::return_room;
use crate::http::rocketchat::messages::room_access;
use crate::http::rocketchat::transcripts::send_transcript;
use crate::http::rocketchat::visitor::{Registration, register, send_visitor_message};
use crate::http::rocketchat::wire::MessageView;
use crate::store::{AuthUser, CustomFieldValue, ReturnOutcome, RoomRemoval, StoreError, Visitor};

/// What a method answers: its result (none for methods that return nothing) or its error.
pub(super) type Outcome = Result<Option<Value>, Refusal>;

/// A method's handler.
pub(super) type Handler = for<'a> fn(&'a mut Identity, Vec<Value>) -> BoxFuture<'a, Outcome>;

/// Every method served, by name.
const METHODS: &[(&str, Handler)] = &[
    ("login", |identity, params| Box::pin(async move { identity.login(params).await.map(Some) })),
    ("livechat:setUpConnection", |identity, params| {
        Box::pin(async move { identity.set_up_connection(&params).map(|()| None) })
    }),
    ("stream-notify-room", |identity, params| {
        Box::pin(async move { identity.notify_room(params).await.map(|()| None) })
    }),
    ("sendMessage", |identity, params| Box::pin(identity.send_message(params))),
    ("UserPresence:setDefaultStatus", |identity, _| Box::pin(async move { Ok(identity.presence()) })),
    ("UserPresence:online", |identity, _| Box::pin(async move { Ok(identity.presence()) })),
    ("UserPresence:away", |identity, _| Box::pin(async move { Ok(identity.presence()) })),
    ("livechat:sendMessageLivechat", |identity, params| Box::pin(identity.send_message_livechat(params))),
    ("livechat:registerGuest", |identity, params| Box::pin(identity.register_guest(params))),
    ("livechat:saveDepartment", |identity, params| Box::pin(identity.save_department(params))),
    ("livechat:returnAsInquiry", |identity, params| Box::pin(identity.return_as_inquiry(params))),
    ("livechat:removeRoom", |identity, params| Box::pin(identity.remove_room(params))),
    ("livechat:sendTranscript", |identity, params| Box::pin(identity.send_transcript(params))),
];

/// The handler of the method `name`.
pub(super) fn handler(name: &str) -> Option<Handler> {
    METHODS.iter().find(|(method, _)| *method == name).map(|(_, handler)| *handler)
}

/// The parameter at `index` read into `T` after the checks of `T`'s schema; a missing
/// one is `null`.
fn param<T: DeserializeOwned + ToSchema + 'static>(params: &[Value], index: usize) -> Result<T, Refusal> {
    checked::<T>(params.get(index).cloned().unwrap_or(Value::Null), |_| ApiError::bare_failure())
        .map_err(|_| Refusal::match_failed())
}

/// A REST route's refusal as the method answers it.
fn refused(error: ApiError, method: &str) -> Refusal {
    let (error, reason) = error.meteor_parts();
    Refusal::new(error, reason.as_deref()).of_method(method)
}

/// `error-not-allowed` `Not allowed`, as Rocket.Chat's methods refuse a permission.
fn not_allowed(method: &str) -> Refusal {
    Refusal::new(json!("error-not-allowed"), Some("Not allowed")).of_method(method)
}

/// A value as DDP carries it: the REST shape with instants as EJSON dates.
fn ejson<T: serde::Serialize>(shape: T) -> Result<Value, Refusal> {
    serde_json::to_value(shape).map(with_ejson_dates).map_err(|_| Refusal::internal())
}

/// The visitor's message of `livechat:sendMessageLivechat`; `file`, `files` and
/// `attachments` are accepted and ignored (files are sent through `livechat/upload`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LivechatMessage {
    #[serde(rename = "_id")]
    #[schema(max_length = 256)]
    id: String,
    #[schema(max_length = 256)]
    rid: String,
    #[schema(min_length = 1, max_length = 5000)]
    msg: String,
    #[schema(max_length = 256)]
    token: String,
    #[allow(dead_code)]
    file: Option<Value>,
    #[allow(dead_code)]
    files: Option<Value>,
    #[allow(dead_code)]
    attachments: Option<Value>,
}

/// The agent a visitor's message may name; accepted and not used.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct MessageAgent {
    #[allow(dead_code)]
    #[schema(max_length = 256)]
    agent_id: String,
    #[allow(dead_code)]
    #[schema(max_length = 256)]
    username: String,
}

/// The guest of `livechat:registerGuest`; every key may be missing.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Guest {
    #[schema(max_length = 256)]
    token: Option<String>,
    #[schema(max_length = 256)]
    name: Option<String>,
    #[schema(max_length = 256)]
    email: Option<String>,
    /// A department's id or name.
    #[schema(max_length = 256)]
    department: Option<String>,
    custom_fields: Option<Vec<GuestField>>,
}

/// A custom field value of a guest; those of scope `room` are not the visitor's.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct GuestField {
    #[schema(max_length = 256)]
    key: String,
    #[schema(max_length = 5000)]
    value: String,
    overwrite: bool,
    #[schema(max_length = 256)]
    scope: Option<String>,
}

/// What `livechat:registerGuest` answers.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RegisteredGuest<'a> {
    user_id: &'a str,
    visitor: RegisteredVisitor<'a>,
}

/// The visitor as `livechat:registerGuest` answers it: Rocket.Chat's projection.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RegisteredVisitor<'a> {
    #[serde(rename = "_id")]
    id: &'a str,
    token: &'a str,
    username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    visitor_emails: Option<[VisitorEmail<'a>; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    department: Option<&'a str>,
}

#[derive(Serialize)]
struct VisitorEmail<'a> {
    address: &'a str,
}

impl<'a> RegisteredGuest<'a> {
    fn of(visitor: &'a Visitor) -> Self {
        Self {
            user_id: &visitor.id,
            visitor: RegisteredVisitor {
                id: &visitor.id,
                token: &visitor.token,
                username: visitor.username(),
                name: visitor.name.as_deref(),
                visitor_emails: visitor.email.as_deref().map(|address| [VisitorEmail { address }]),
                department: visitor.department_id.as_deref(),
            },
        }
    }
}

/// What `livechat:sendMessageLivechat` answers: the stored message, with Rocket.Chat's
/// `newRoom` (always false: the room exists) and `showConnecting`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SentMessage {
    #[serde(flatten)]
    message: MessageView,
    new_room: bool,
    show_connecting: bool,
}

/// The text parameter at `index` (`null` or missing: none), at most 256 characters.
fn id_param(params: &[Value], index: usize) -> Result<Option<&str>, Refusal> {
    match params.get(index) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(id)) if id.chars().count() <= 256 => Ok(Some(id)),
        Some(_) => Err(Refusal::match_failed()),
    }
}

impl Identity {
    /// The logged-in user holding `permission`, else Rocket.Chat's refusal of `method`.
    fn permitted(&self, permission: &str, method: &str) -> Result<&AuthUser, Refusal> {
        self.user.as_ref().filter(|user| user.holds(permission)).ok_or_else(|| not_allowed(method))
    }

    /// `livechat:sendMessageLivechat` `[{_id, rid, msg, token}, agent?]`: the visitor of
    /// `token` writes into its open room, as `POST livechat/message`. Answers the stored
    /// message with Rocket.Chat's `newRoom` (always false: the room exists) and
    /// `showConnecting`.
    async fn send_message_livechat(&mut self, params: Vec<Value>) -> Outcome {
        const METHOD: &str = "livechat:sendMessageLivechat";
        let message: LivechatMessage = param(&params, 0)?;
        if params.get(1).is_some_and(|agent| !agent.is_null()) {
            param::<MessageAgent>(&params, 1)?;
        }
        let (stored, visitor) =
            send_visitor_message(&self.state, &message.token, &message.rid, &message.msg, Some(&message.id))
                .await
                .map_err(|error| refused(error, METHOD))?;
        let method = self.state.store.setting::<RoutingMethodSetting>().await?;
        let answer = SentMessage {
            message: MessageView::new(&stored, Some(&visitor.token)),
            new_room: false,
            show_connecting: method == RoutingMethod::ManualSelection,
        };
        Ok(Some(ejson(answer)?))
    }

    /// `livechat:registerGuest` `{token, name?, email?, department?, customFields?}`:
    /// registers or updates the visitor of `token` as `POST livechat/visitor` does, and
    /// sets its values of visitor custom fields (keys naming no such field are
    /// skipped). Answers `{userId, visitor}`.
    async fn register_guest(&mut self, params: Vec<Value>) -> Outcome {
        const METHOD: &str = "livechat:registerGuest";
        let guest: Guest = match params.first() {
            None | Some(Value::Null) => Guest::default(),
            Some(_) => param(&params, 0)?,
        };
        let Some(token) = guest.token.as_deref().filter(|token| !token.is_empty()) else {
            return Err(Refusal::new(json!("error-invalid-token"), Some("Invalid token")).of_method(METHOD));
        };
        let registration = Registration {
            token,
            name: guest.name.as_deref(),
            email: guest.email.as_deref(),
            phone: None,
            department: guest.department.as_deref().filter(|department| !department.is_empty()),
            headers: None,
        };
        let visitor = register(&self.state, registration).await.map_err(|error| refused(error, METHOD))?;
        let fields = guest.custom_fields.unwrap_or_default();
        for field in fields.iter().filter(|field| field.scope.as_deref() != Some("room")) {
            let value = CustomFieldValue { key: &field.key, value: &field.value, overwrite: field.overwrite };
            match self.state.store.set_visitor_custom_fields(&visitor.id, &[value], self.state.now()).await {
                Ok(()) | Err(StoreError::NotFound) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(Some(ejson(RegisteredGuest::of(&visitor))?))
    }

    /// `livechat:saveDepartment` `[_id or null, departmentData, departmentAgents?]`:
    /// creates or replaces a department as POST / PUT `livechat/department` do; answers
    /// the department. Needs manage-livechat-departments.
    async fn save_department(&mut self, params: Vec<Value>) -> Outcome {
        const METHOD: &str = "livechat:saveDepartment";
        let caller = self.permitted(MANAGE_LIVECHAT_DEPARTMENTS, METHOD)?;
        let id = id_param(&params, 0)?.filter(|id| !id.is_empty());
        // The body of POST and PUT `livechat/department`, checked as theirs is.
        let body = json!({"department": params.get(1).cloned().unwrap_or(Value::Null),
                          "agents": params.get(2).cloned().unwrap_or(Value::Null)});
        let body: DepartmentBody = checked(body, |_| ApiError::bare_failure()).map_err(|_| Refusal::match_failed())?;
        let department =
            save_department(&self.state, caller, id, &body).await.map_err(|error| refused(error, METHOD))?;
        Ok(Some(ejson(DepartmentView::from(department))?))
    }

    /// `livechat:returnAsInquiry` `[rid, departmentId?]`: puts the room back in the queue
    /// as `inquiries.returnAsInquiry` does; answers whether it was returned. Needs
    /// view-l-room.
    async fn return_as_inquiry(&mut self, params: Vec<Value>) -> Outcome {
        const METHOD: &str = "livechat:returnAsInquiry";
        let caller = self.permitted(VIEW_L_ROOM, METHOD)?;
        let Some(room_id) = id_param(&params, 0)? else { return Err(Refusal::match_failed()) };
        let department = id_param(&params, 1)?;
        let outcome =
            return_room(&self.state, caller, room_id, department).await.map_err(|error| refused(error, METHOD))?;
        match outcome {
            ReturnOutcome::Returned => Ok(Some(json!(true))),
            ReturnOutcome::AlreadyQueued => Ok(Some(json!(false))),
            ReturnOutcome::NotPermitted => Err(not_allowed(METHOD)),
            ReturnOutcome::Closed => Err(Refusal::new(json!("room-closed"), Some("Room closed")).of_method(METHOD)),
            ReturnOutcome::NotFound => Err(invalid_room(METHOD)),
        }
    }

    /// `livechat:removeRoom` `[rid]`: removes a closed room with its messages; answers
    /// nothing. Needs remove-closed-livechat-room, and a room the caller may see.
    async fn remove_room(&mut self, params: Vec<Value>) -> Outcome {
        const METHOD: &str = "livechat:removeRoom";
        let caller = self.permitted(REMOVE_CLOSED_LIVECHAT_ROOM, METHOD)?;
        let Some(room_id) = id_param(&params, 0)? else { return Err(Refusal::match_failed()) };
        match self.state.store.remove_closed_room(room_id, room_access(caller), self.state.now()).await? {
            RoomRemoval::Removed => Ok(None),
            RoomRemoval::NotFound => Err(invalid_room(METHOD)),
            RoomRemoval::Open => {
                Err(Refusal::new(json!("error-room-is-not-closed"), Some("Room is not closed")).of_method(METHOD))
            }
            RoomRemoval::OutOfReach => Err(not_allowed(METHOD)),
        }
    }
}

impl Identity {
    /// `livechat:sendTranscript` `[token, rid, email, subject?]`: an agent mails the
    /// transcript of the room of the visitor of `token`, as `POST livechat/transcript`
    /// does for the visitor; answers `true`. Needs send-omnichannel-chat-transcript, and
    /// a room the caller may see.
    async fn send_transcript(&mut self, params: Vec<Value>) -> Outcome {
        const METHOD: &str = "livechat:sendTranscript";
        let caller = self.permitted(SEND_OMNICHANNEL_CHAT_TRANSCRIPT, METHOD)?;
        let (Some(token), Some(room_id), Some(email)) =
            (id_param(&params, 0)?, id_param(&params, 1)?, id_param(&params, 2)?)
        else {
            return Err(Refusal::match_failed());
        };
        let subject = id_param(&params, 3)?;
        match self.state.store.room_state(room_id, room_access(caller)).await? {
            Some(room) if room.accessible => {}
            Some(_) => return Err(not_allowed(METHOD)),
            None => return Err(invalid_room(METHOD)),
        }
        send_transcript(&self.state, token, room_id, email, subject).await.map_err(|error| refused(error, METHOD))?;
        Ok(Some(json!(true)))
    }
}

fn invalid_room(method: &str) -> Refusal {
    Refusal::new(json!("error-invalid-room"), Some("Invalid room")).of_method(method)
}
