//! diesel's view of the tables (the migrations under migrations/ create them).

diesel::table! {
    sp_tellrec (id) {
        id -> Integer,
        rec_key -> Text,
        tellguid -> Text,
        ch_num -> Integer,
        caller_no -> Text,
        callee_no -> Text,
        tel_num -> Text,
        work_no -> Text,
        group_no -> Nullable<Integer>,
        direction -> Text,
        start_time -> Timestamp,
        queue_time -> Nullable<Timestamp>,
        answer_time -> Nullable<Timestamp>,
        end_time -> Timestamp,
        telllongtime -> Integer,
        tellmsg -> Integer,
        hangup_by -> Text,
        cause -> Integer,
        record_file -> Nullable<Text>,
    }
}

diesel::table! {
    sprecord (id) {
        id -> Integer,
        rec_key -> Text,
        tellguid -> Text,
        caller_no -> Text,
        callee_no -> Text,
        tel_num -> Text,
        work_no -> Text,
        start_time -> Timestamp,
        end_time -> Timestamp,
        duration_s -> Integer,
        file_name -> Text,
        direction -> Text,
    }
}

diesel::table! {
    sp_agentregstate (id) {
        id -> Integer,
        rec_key -> Text,
        tel_num -> Text,
        work_no -> Text,
        group_no -> Text,
        state -> Text,
        show_state -> Text,
        client_addr -> Text,
        change_time -> Timestamp,
    }
}

diesel::table! {
    sp_survey (id) {
        id -> Integer,
        rec_key -> Text,
        tellguid -> Text,
        caller_no -> Text,
        tel_num -> Text,
        work_no -> Text,
        answer -> Text,
        flow -> Text,
        answer_time -> Timestamp,
    }
}

diesel::table! {
    whitelist (id) {
        id -> Integer,
        number -> Text,
        remark -> Text,
    }
}

diesel::table! {
    spfaxrecord (id) {
        id -> Integer,
        rec_key -> Text,
        caller_no -> Text,
        callee_no -> Text,
        file_name -> Text,
        start_time -> Timestamp,
        direction -> Text,
        result -> Text,
        tellguid -> Text,
    }
}

diesel::table! {
    sp_sipregpwd (id) {
        id -> Integer,
        reg_num -> Text,
        password -> Text,
        remark -> Text,
    }
}

diesel::table! {
    sp_customer (id) {
        id -> Integer,
        phone -> Text,
        name -> Text,
        company -> Text,
        address -> Text,
        contact -> Text,
        remark -> Text,
    }
}
