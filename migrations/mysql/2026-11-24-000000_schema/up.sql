-- The tables of database.md. Timestamps are UTC (DATETIME(3): milliseconds, no 2038 limit,
-- no server time-zone conversion). rec_key is the record's stable key: a
-- spool replay never writes a row twice. utf8mb4 carries any customer name.

CREATE TABLE sp_tellrec (
    id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    rec_key VARCHAR(64) NOT NULL UNIQUE,
    tellguid VARCHAR(50) NOT NULL,
    ch_num INTEGER NOT NULL,
    caller_no VARCHAR(30) NOT NULL DEFAULT '',
    callee_no VARCHAR(30) NOT NULL DEFAULT '',
    tel_num VARCHAR(30) NOT NULL DEFAULT '',
    work_no VARCHAR(30) NOT NULL DEFAULT '',
    group_no INTEGER,
    direction VARCHAR(10) NOT NULL,
    start_time DATETIME(3) NOT NULL,
    queue_time DATETIME(3),
    answer_time DATETIME(3),
    end_time DATETIME(3) NOT NULL,
    telllongtime INTEGER NOT NULL DEFAULT 0,
    tellmsg INTEGER NOT NULL,
    hangup_by VARCHAR(10) NOT NULL DEFAULT '',
    cause INTEGER NOT NULL DEFAULT 16,
    record_file VARCHAR(200)
) DEFAULT CHARSET=utf8mb4;
CREATE INDEX sp_tellrec_tellguid ON sp_tellrec (tellguid);
CREATE INDEX sp_tellrec_start ON sp_tellrec (start_time);
CREATE INDEX sp_tellrec_caller ON sp_tellrec (caller_no);

CREATE TABLE sprecord (
    id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    rec_key VARCHAR(64) NOT NULL UNIQUE,
    tellguid VARCHAR(50) NOT NULL,
    caller_no VARCHAR(30) NOT NULL DEFAULT '',
    callee_no VARCHAR(30) NOT NULL DEFAULT '',
    tel_num VARCHAR(30) NOT NULL DEFAULT '',
    work_no VARCHAR(30) NOT NULL DEFAULT '',
    start_time DATETIME(3) NOT NULL,
    end_time DATETIME(3) NOT NULL,
    duration_s INTEGER NOT NULL DEFAULT 0,
    file_name VARCHAR(200) NOT NULL,
    direction VARCHAR(10) NOT NULL
) DEFAULT CHARSET=utf8mb4;
CREATE INDEX sprecord_start ON sprecord (start_time);
CREATE INDEX sprecord_caller ON sprecord (caller_no);
CREATE INDEX sprecord_callee ON sprecord (callee_no);

CREATE TABLE sp_agentregstate (
    id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    rec_key VARCHAR(64) NOT NULL UNIQUE,
    tel_num VARCHAR(30) NOT NULL,
    work_no VARCHAR(30) NOT NULL DEFAULT '',
    group_no VARCHAR(100) NOT NULL DEFAULT '',
    state VARCHAR(20) NOT NULL,
    show_state VARCHAR(100) NOT NULL DEFAULT '',
    client_addr VARCHAR(60) NOT NULL DEFAULT '',
    change_time DATETIME(3) NOT NULL
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE whitelist (
    id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    number VARCHAR(30) NOT NULL,
    remark VARCHAR(100) NOT NULL DEFAULT ''
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE spfaxrecord (
    id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    rec_key VARCHAR(64) NOT NULL UNIQUE,
    caller_no VARCHAR(30) NOT NULL DEFAULT '',
    callee_no VARCHAR(30) NOT NULL DEFAULT '',
    file_name VARCHAR(100) NOT NULL DEFAULT '',
    start_time DATETIME(3) NOT NULL,
    direction VARCHAR(10) NOT NULL,
    result VARCHAR(20) NOT NULL DEFAULT '',
    tellguid VARCHAR(50) NOT NULL DEFAULT ''
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE sp_sipregpwd (
    id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    reg_num VARCHAR(50) NOT NULL UNIQUE,
    password VARCHAR(50) NOT NULL,
    remark VARCHAR(50) NOT NULL DEFAULT ''
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE sp_customer (
    id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    phone VARCHAR(30) NOT NULL UNIQUE,
    name VARCHAR(100) NOT NULL DEFAULT '',
    company VARCHAR(100) NOT NULL DEFAULT '',
    address VARCHAR(200) NOT NULL DEFAULT '',
    contact VARCHAR(100) NOT NULL DEFAULT '',
    remark VARCHAR(200) NOT NULL DEFAULT ''
) DEFAULT CHARSET=utf8mb4;
