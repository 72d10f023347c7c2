DROP TABLE sp_customer;
DROP TABLE sp_sipregpwd;
DROP TABLE spfaxrecord;
DROP TABLE whitelist;
DROP TABLE sp_agentregstate;
DROP TABLE sprecord;
DROP TABLE sp_tellrec;
