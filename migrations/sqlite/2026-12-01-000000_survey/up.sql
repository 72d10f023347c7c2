-- Satisfaction survey answers (flows.md: the `survey` flow variable),
-- one row per call that answered, kept with the call's TellGUID.
CREATE TABLE sp_survey (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    rec_key VARCHAR(64) NOT NULL UNIQUE,
    tellguid VARCHAR(50) NOT NULL,
    caller_no VARCHAR(30) NOT NULL DEFAULT '',
    tel_num VARCHAR(30) NOT NULL DEFAULT '',
    work_no VARCHAR(30) NOT NULL DEFAULT '',
    answer VARCHAR(30) NOT NULL,
    flow VARCHAR(80) NOT NULL DEFAULT '',
    answer_time TIMESTAMP NOT NULL
);

CREATE INDEX sp_survey_tellguid ON sp_survey (tellguid);
