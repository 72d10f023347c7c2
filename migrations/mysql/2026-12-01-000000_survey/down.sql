DROP TABLE sp_survey;
