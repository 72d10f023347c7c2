//! The tables operators keep by hand through the admin API: customers
//! (screen-pop data), the whitelist, and SIP seat passwords. Unlike call
//! records these are written directly, not spooled: the operator is there
//! to see the answer (or the error).

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::storage::db::{ReadPool, with_conn};
use crate::storage::schema::{sp_customer, sp_sipregpwd, whitelist};

/// Why a directory change failed.
#[derive(Debug, thiserror::Error)]
pub enum DirError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0} already exists")]
    Duplicate(String),
    #[error("database unavailable: {0}")]
    Unavailable(String),
}

fn db_err(what: &str, e: diesel::result::Error) -> DirError {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            DirError::Duplicate(what.to_owned())
        }
        e => DirError::Unavailable(e.to_string()),
    }
}

/// Blank as `docs/openapi.json` says it: only space, tab, CR, LF, FF and VT
/// (the schema's pattern and the server must agree exactly).
fn blank(value: &str) -> bool {
    value
        .chars()
        .all(|c| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c'))
}

fn check(field: &str, value: &str, max: usize, required: bool) -> Result<(), DirError> {
    if required && blank(value) {
        return Err(DirError::Invalid(format!("{field} is required")));
    }
    if value.chars().count() > max {
        return Err(DirError::Invalid(format!(
            "{field} is longer than {max} characters"
        )));
    }
    Ok(())
}

/// An `sp_customer` row as the API takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Insertable, AsChangeset)]
#[diesel(table_name = sp_customer)]
pub struct CustomerIn {
    pub phone: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub company: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub contact: String,
    #[serde(default)]
    pub remark: String,
}

impl CustomerIn {
    fn validate(&self) -> Result<(), DirError> {
        check("phone", &self.phone, 30, true)?;
        check("name", &self.name, 100, false)?;
        check("company", &self.company, 100, false)?;
        check("address", &self.address, 200, false)?;
        check("contact", &self.contact, 100, false)?;
        check("remark", &self.remark, 200, false)
    }
}

/// A stored customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Queryable, Selectable)]
#[diesel(table_name = sp_customer)]
pub struct CustomerRow {
    pub id: i32,
    pub phone: String,
    pub name: String,
    pub company: String,
    pub address: String,
    pub contact: String,
    pub remark: String,
}

/// A `whitelist` entry: an exact number, or a prefix ending in `*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Insertable, AsChangeset)]
#[diesel(table_name = whitelist)]
pub struct WhitelistIn {
    pub number: String,
    #[serde(default)]
    pub remark: String,
}

impl WhitelistIn {
    fn validate(&self) -> Result<(), DirError> {
        check("number", &self.number, 30, true)?;
        let digits = self.number.strip_suffix('*').unwrap_or(&self.number);
        if !digits
            .chars()
            .all(|c| c.is_ascii_digit() || c == '#' || c == '*')
        {
            return Err(DirError::Invalid(
                "number must be digits, optionally ending in * for a prefix".into(),
            ));
        }
        check("remark", &self.remark, 100, false)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Queryable, Selectable)]
#[diesel(table_name = whitelist)]
pub struct WhitelistRow {
    pub id: i32,
    pub number: String,
    pub remark: String,
}

/// A SIP seat's registration password.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Insertable, AsChangeset)]
#[diesel(table_name = sp_sipregpwd)]
pub struct SipPasswordIn {
    pub reg_num: String,
    pub password: String,
    #[serde(default)]
    pub remark: String,
}

impl SipPasswordIn {
    fn validate(&self) -> Result<(), DirError> {
        check("reg_num", &self.reg_num, 50, true)?;
        check("password", &self.password, 50, true)?;
        check("remark", &self.remark, 50, false)
    }
}

/// A stored SIP password; the password itself is never read back out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Queryable, Selectable)]
#[diesel(table_name = sp_sipregpwd)]
pub struct SipPasswordRow {
    pub id: i32,
    pub reg_num: String,
    pub remark: String,
}

/// Generates list/get/create/update/delete for one table.
macro_rules! directory {
    ($table:ident, $in:ty, $row:ty, $what:literal, $list:ident, $get:ident, $create:ident, $update:ident, $delete:ident, $order:ident) => {
        impl ReadPool {
            /// Every entry, in key order.
            pub fn $list(&self) -> Result<Vec<$row>, DirError> {
                (|| -> Result<Vec<$row>, String> {
                    Ok(with_conn!(self, |c| $table::table
                        .order($table::$order)
                        .select(<$row>::as_select())
                        .load(c)
                        .map_err(|e| e.to_string())?))
                })()
                .map_err(DirError::Unavailable)
            }

            pub fn $get(&self, id: i32) -> Result<Option<$row>, DirError> {
                (|| -> Result<Option<$row>, String> {
                    Ok(with_conn!(self, |c| $table::table
                        .find(id)
                        .select(<$row>::as_select())
                        .first(c)
                        .optional()
                        .map_err(|e| e.to_string())?))
                })()
                .map_err(DirError::Unavailable)
            }

            /// Adds an entry; returns it with its id.
            pub fn $create(&self, v: &$in) -> Result<$row, DirError> {
                v.validate()?;
                (|| -> Result<Result<$row, DirError>, String> {
                    Ok(with_conn!(self, |c| c
                        .transaction(|c| {
                            diesel::insert_into($table::table).values(v).execute(c)?;
                            $table::table
                                .order($table::id.desc())
                                .select(<$row>::as_select())
                                .first(c)
                        })
                        .map_err(|e| db_err($what, e))))
                })()
                .map_err(DirError::Unavailable)?
            }

            /// Replaces an entry; `None` when there is no such id.
            pub fn $update(&self, id: i32, v: &$in) -> Result<Option<$row>, DirError> {
                v.validate()?;
                let n = (|| -> Result<Result<usize, DirError>, String> {
                    Ok(with_conn!(self, |c| diesel::update($table::table.find(id))
                        .set(v)
                        .execute(c)
                        .map_err(|e| db_err($what, e))))
                })()
                .map_err(DirError::Unavailable)??;
                if n == 0 {
                    return Ok(None);
                }
                self.$get(id)
            }

            /// Removes an entry; `false` when there is no such id.
            pub fn $delete(&self, id: i32) -> Result<bool, DirError> {
                let n = (|| -> Result<usize, String> {
                    Ok(with_conn!(self, |c| diesel::delete($table::table.find(id))
                        .execute(c)
                        .map_err(|e| e.to_string())?))
                })()
                .map_err(DirError::Unavailable)?;
                Ok(n > 0)
            }
        }
    };
}

directory!(
    sp_customer,
    CustomerIn,
    CustomerRow,
    "a customer with this phone",
    customers,
    customer_by_id,
    create_customer,
    update_customer,
    delete_customer,
    phone
);
directory!(
    whitelist,
    WhitelistIn,
    WhitelistRow,
    "this whitelist number",
    whitelist_entries,
    whitelist_entry,
    create_whitelist,
    update_whitelist,
    delete_whitelist,
    number
);
directory!(
    sp_sipregpwd,
    SipPasswordIn,
    SipPasswordRow,
    "a password for this registration number",
    sip_passwords,
    sip_password_by_id,
    create_sip_password,
    update_sip_password,
    delete_sip_password,
    reg_num
);
