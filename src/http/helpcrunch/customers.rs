//! /v1/customers: the visitors, as HelpCrunch shows customers.
//!
//! A customer is a Rocket.Chat visitor: its `id` is the visitor's integer id (the
//! `customer.id` of its chats) and its `userId` the visitor's `_id` (the chats'
//! `customer.userId`). `firstSeen` is when it registered and `lastSeen` when its row
//! last changed; `customData` holds its custom fields. What HelpCrunch keeps and
//! Rocket.Chat does not (company, location, device, tags, notes...) is null or empty.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{HelpCrunchError, HelpCrunchResult};
use super::extract::{HcBody, HcQuery, HcRequest, Problem, filter_conditions};
use super::fields::{
    BLANK, ChatLimit, ChatOffset, ComparisonName, CustomerFieldName, CustomerOperatorName, CustomerSortName,
    NOT_NUMERIC, NOT_STRING, NOT_VALID, NumericId, OrderName, Seconds,
};
use super::wire::{Nothing, UnixSeconds};
use crate::domain::chat_search::{Comparison, MAX_CHATS_PER_PAGE};
use crate::domain::customer_search::{CustomerCondition, CustomerField, CustomerSearch, CustomerSort, CustomerValue};
use crate::domain::page::Direction;
use crate::http::AppState;
use crate::http::extract::MAX_KEY_CHARS;
use crate::http::openapi::{HcBadRequest, HcJsonBody, HcKeyed, HcNotFound};
use crate::store::Visitor;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(search)).routes(routes!(get_one))
}

/// A HelpCrunch customer. Keys are in the order of HelpCrunch's documentation; fields
/// without a value are `null`, never missing.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Customer {
    id: i64,
    #[schema(required = true)]
    name: Option<String>,
    #[schema(required = true)]
    email: Option<String>,
    /// The visitor's Rocket.Chat `_id`.
    user_id: String,
    company: Nothing,
    #[schema(required = true)]
    phone: Option<String>,
    first_seen: UnixSeconds,
    last_seen: UnixSeconds,
    location: Nothing,
    device: Nothing,
    /// Always false.
    unsubscribed: bool,
    /// Always false.
    blocked: bool,
    source: Nothing,
    referer: Nothing,
    last_page: Nothing,
    locale: Nothing,
    notes: Nothing,
    /// Always empty.
    tags: Vec<Nothing>,
    /// The visitor's custom fields.
    #[schema(value_type = Object)]
    custom_data: Value,
}

impl From<&Visitor> for Customer {
    fn from(visitor: &Visitor) -> Self {
        Self {
            id: visitor.num_id,
            name: visitor.name.clone(),
            email: visitor.email.clone(),
            user_id: visitor.id.clone(),
            company: Nothing,
            phone: visitor.phone.clone(),
            first_seen: UnixSeconds(visitor.created_at),
            last_seen: UnixSeconds(visitor.updated_at),
            location: Nothing,
            device: Nothing,
            unsubscribed: false,
            blocked: false,
            source: Nothing,
            referer: Nothing,
            last_page: Nothing,
            locale: Nothing,
            notes: Nothing,
            tags: Vec::new(),
            custom_data: visitor
                .livechat_data
                .as_deref()
                .and_then(|data| serde_json::from_str(data).ok())
                .unwrap_or_else(|| Value::Object(Map::new())),
        }
    }
}

/// A page of customers: `{"data": [...], "total": N}`, as HelpCrunch lists them.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CustomerPage {
    data: Vec<Customer>,
    #[schema(minimum = 0)]
    total: i64,
}

/// The query of GET /v1/customers.
#[derive(Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
struct CustomerListQuery {
    /// customers.firstSeen (the default) or customers.lastSeen
    sort: Option<CustomerSortName>,
    /// asc or desc (the default)
    order: Option<OrderName>,
    /// Customers to skip
    offset: Option<ChatOffset>,
    /// Customers per page, at most 100
    limit: Option<ChatLimit>,
}

impl HcRequest for CustomerListQuery {}

/// Every customer, one page in the requested order.
#[utoipa::path(get, path = "/v1/customers", tag = "helpcrunch",
    security(("bearerApiKey" = [])),
    params(CustomerListQuery),
    responses(
        (status = 200, description = "A page of customers", body = CustomerPage),
        (status = 400, response = HcBadRequest),
        HcKeyed,
    ))]
async fn list(
    State(state): State<AppState>,
    HcQuery(query): HcQuery<CustomerListQuery>,
) -> HelpCrunchResult<Json<CustomerPage>> {
    let search = customer_search(None, Vec::new(), query.sort, query.order, query.offset, query.limit);
    page_answer(&state, &search).await
}

async fn page_answer(state: &AppState, search: &CustomerSearch) -> HelpCrunchResult<Json<CustomerPage>> {
    let (visitors, total) = state.store.search_customers(search).await?;
    Ok(Json(CustomerPage { data: visitors.iter().map(Customer::from).collect(), total }))
}

/// A customer search from its parts; absent ones take their defaults.
fn customer_search(
    comparison: Option<ComparisonName>,
    conditions: Vec<CustomerCondition>,
    sort: Option<CustomerSortName>,
    order: Option<OrderName>,
    offset: Option<ChatOffset>,
    limit: Option<ChatLimit>,
) -> CustomerSearch {
    CustomerSearch {
        comparison: comparison.map_or(Comparison::And, |ComparisonName(comparison)| comparison),
        conditions,
        sort: sort.map_or(CustomerSort::FirstSeen, |CustomerSortName(sort)| sort),
        direction: order.map_or(Direction::Desc, |OrderName(order)| order),
        offset: offset.map_or(0, |ChatOffset(offset)| offset),
        limit: limit.map_or(MAX_CHATS_PER_PAGE, |ChatLimit(limit)| limit),
    }
}

/// POST /v1/customers/search: conditions on customers, and the page of them to answer
/// with. Unknown properties are ignored.
#[derive(Deserialize, ToSchema)]
struct CustomerSearchRequest {
    /// How the conditions combine (default AND).
    comparison: Option<ComparisonName>,
    #[schema(max_items = 50)]
    filter: Option<Vec<CustomerConditionRequest>>,
    sort: Option<CustomerSortName>,
    order: Option<OrderName>,
    offset: Option<ChatOffset>,
    limit: Option<ChatLimit>,
}

/// A search condition: `field operator value`.
// Field and operator are required by the schema but read as `Option`, so that a
// condition whose field or operator was refused is still read and judged whole.
#[derive(Deserialize, ToSchema)]
struct CustomerConditionRequest {
    #[schema(value_type = CustomerFieldName, required = true)]
    field: Option<CustomerFieldName>,
    /// `~` (contains, in any case) applies to texts; `>`, `>=`, `<`, `<=` to
    /// customers.id, customers.firstSeen and customers.lastSeen.
    #[schema(value_type = CustomerOperatorName, required = true)]
    operator: Option<CustomerOperatorName>,
    /// Text (compared in any case), an integer id (or numeric string), or UNIX seconds
    /// (a number or numeric string).
    value: Option<Value>,
}

impl CustomerConditionRequest {
    /// The condition, or the problems of its parts (`field`, `operator`, `value`), in
    /// that order; the value is judged only when the field is known.
    fn condition(&self) -> Result<CustomerCondition, Vec<(&'static str, String)>> {
        let mut problems = Vec::new();
        let field = self.field.map(|CustomerFieldName(field)| field);
        if field.is_none() {
            problems.push(("field", BLANK.to_owned()));
        }
        let operator = match (self.operator, field) {
            (None, _) => {
                problems.push(("operator", BLANK.to_owned()));
                None
            }
            (Some(CustomerOperatorName(operator)), Some(field)) if !operator.applies_to(field) => {
                problems.push(("operator", NOT_VALID.to_owned()));
                None
            }
            (Some(CustomerOperatorName(operator)), _) => Some(operator),
        };
        let value = field.and_then(|field| self.value(field).map_err(|message| problems.push(("value", message))).ok());
        match (field, operator, value) {
            (Some(field), Some(operator), Some(value)) => Ok(CustomerCondition { field, operator, value }),
            _ => Err(problems),
        }
    }

    fn value(&self, field: CustomerField) -> Result<CustomerValue, String> {
        let value = match &self.value {
            None | Some(Value::Null) => return Err(BLANK.to_owned()),
            Some(value) => value,
        };
        let read = match field {
            CustomerField::Id => NumericId::deserialize(value).map(|NumericId(id)| CustomerValue::Id(id)),
            CustomerField::FirstSeen | CustomerField::LastSeen => {
                Seconds::deserialize(value).map(|Seconds(seconds)| CustomerValue::Seconds(seconds))
            }
            CustomerField::Name | CustomerField::Email | CustomerField::Phone | CustomerField::UserId => {
                return match value {
                    Value::String(text) if text.is_empty() => Err(BLANK.to_owned()),
                    Value::String(text) if text.chars().count() > MAX_KEY_CHARS => {
                        Err(format!("This value is too long. It should have {MAX_KEY_CHARS} characters or less."))
                    }
                    Value::String(text) => Ok(CustomerValue::Text(text.clone())),
                    _ => Err(NOT_STRING.to_owned()),
                };
            }
        };
        read.map_err(|error| error.to_string())
    }
}

impl CustomerSearchRequest {
    /// Every condition, or the problems of the bad ones, at `filter[N].<part>`.
    fn conditions(&self) -> Result<Vec<CustomerCondition>, Vec<Problem>> {
        filter_conditions(self.filter.iter().flatten(), CustomerConditionRequest::condition)
    }
}

impl HcRequest for CustomerSearchRequest {
    fn problems(&self) -> Vec<Problem> {
        self.conditions().err().unwrap_or_default()
    }
}

/// Customers matching filter conditions.
#[utoipa::path(post, path = "/v1/customers/search", tag = "helpcrunch",
    security(("bearerApiKey" = [])),
    request_body = CustomerSearchRequest,
    responses((status = 200, description = "A page of matching customers", body = CustomerPage), HcJsonBody, HcKeyed))]
async fn search(
    State(state): State<AppState>,
    HcBody(body): HcBody<CustomerSearchRequest>,
) -> HelpCrunchResult<Json<CustomerPage>> {
    let conditions =
        body.conditions().map_err(|_| HelpCrunchError::internal("search conditions refused after being checked"))?;
    let search = customer_search(body.comparison, conditions, body.sort, body.order, body.offset, body.limit);
    page_answer(&state, &search).await
}

/// One customer.
#[utoipa::path(get, path = "/v1/customers/{id}", tag = "helpcrunch",
    security(("bearerApiKey" = [])),
    params(("id" = i64, Path, description = "The customer's integer id")),
    responses(
        (status = 200, description = "The customer", body = Customer),
        (status = 400, response = HcBadRequest),
        (status = 404, response = HcNotFound),
        HcKeyed,
    ))]
async fn get_one(State(state): State<AppState>, Path(raw_id): Path<String>) -> HelpCrunchResult<Json<Customer>> {
    let id = raw_id.parse::<i64>().map_err(|_| HelpCrunchError::invalid_field("id", NOT_NUMERIC))?;
    let visitor = state
        .store
        .customer_by_num_id(id)
        .await?
        .ok_or_else(|| HelpCrunchError::entity_not_found("Customer not found"))?;
    Ok(Json(Customer::from(&visitor)))
}
