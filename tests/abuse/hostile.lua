-- hostile.lua - miltertest: odd but legal input: a long header field,
-- 2000 header fields, a 2 MB random body, a close right after the
-- connect information (run by tests/abuse.sh).
-- miltertest 2.11.0~beta2 (Debian 12) itself overflows its stack on a
-- header value of some KB (mt.header), so X-Big stays under 1 KB; and
-- it exits 1 without a word on mt.unknown() to a milter that
-- negotiated SMFIP_NOUNKNOWN, as mailauthd does, so there is none.

local conn = mt.connect(socket, 40, 0.25)
if conn == nil then error("mt.connect() failed") end
if mt.conninfo(conn, "mail.sender1.example", "203.0.113.25") ~= nil then
	error("mt.conninfo() failed")
end
mt.disconnect(conn, false)

conn = mt.connect(socket, 40, 0.25)
if conn == nil then error("mt.connect() failed") end
if mt.conninfo(conn, "mail.sender1.example", "203.0.113.25") ~= nil then
	error("mt.conninfo() failed")
end
if mt.mailfrom(conn, "<bounce@sender1.example>") ~= nil then
	error("mt.mailfrom() failed")
end
if mt.rcptto(conn, "<user1@rcpt.example>") ~= nil then
	error("mt.rcptto() failed")
end
if mt.header(conn, "From", "<alice@sender1.example>") ~= nil then
	error("mt.header() failed")
end
if mt.header(conn, "X-Big", string.rep("y", 900)) ~= nil then
	error("mt.header(X-Big) failed")
end
for i = 1, 2000 do
	if mt.header(conn, "X-Many", tostring(i)) ~= nil then
		error("mt.header(X-Many) failed")
	end
end
if mt.eoh(conn) ~= nil then error("mt.eoh() failed") end
if mt.bodyrandom(conn, 2000000) ~= nil then error("mt.bodyrandom() failed") end
if mt.eom(conn) ~= nil then error("mt.eom() failed") end
local r = mt.getreply(conn)
if r ~= SMFIR_ACCEPT and r ~= SMFIR_REJECT and r ~= SMFIR_TEMPFAIL and
   r ~= SMFIR_REPLYCODE then
	error("end of message: no verdict")
end
mt.disconnect(conn, true)
