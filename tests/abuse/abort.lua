-- abort.lua - miltertest: ABORT mid-body, a message on the same
-- connection after it, then an unpolite close in the middle of another
-- (run by tests/abuse.sh)

local conn = mt.connect(socket, 40, 0.25)
if conn == nil then error("mt.connect() failed") end
mt.macro(conn, SMFIC_CONNECT, "{daemon_name}", "MX")
if mt.conninfo(conn, "mail.sender1.example", "203.0.113.25") ~= nil then
	error("mt.conninfo() failed")
end
if mt.mailfrom(conn, "<bounce@sender1.example>") ~= nil then
	error("mt.mailfrom() failed")
end
if mt.header(conn, "From", "<alice@sender1.example>") ~= nil then
	error("mt.header() failed")
end
if mt.eoh(conn) ~= nil then error("mt.eoh() failed") end
if mt.bodyrandom(conn, 200000) ~= nil then error("mt.bodyrandom() failed") end
if mt.abort(conn) ~= nil then error("mt.abort() failed") end

-- the next message on the same connection
if mt.mailfrom(conn, "<bounce@sender1.example>") ~= nil then
	error("mt.mailfrom() after abort failed")
end
if mt.rcptto(conn, "<user1@rcpt.example>") ~= nil then
	error("mt.rcptto() failed")
end
if mt.header(conn, "From", "<alice@sender1.example>") ~= nil then
	error("mt.header() failed")
end
if mt.eoh(conn) ~= nil then error("mt.eoh() failed") end
if mt.bodystring(conn, "after the abort\r\n") ~= nil then
	error("mt.bodystring() failed")
end
if mt.eom(conn) ~= nil then error("mt.eom() failed") end
if mt.getreply(conn) ~= SMFIR_ACCEPT then
	error("message after abort: not accept")
end

-- a third one, left in the middle of its header (no QUIT)
if mt.mailfrom(conn, "<bounce@sender1.example>") ~= nil then
	error("mt.mailfrom() failed")
end
if mt.header(conn, "Subject", "left") ~= nil then error("mt.header() failed") end
mt.disconnect(conn, false)
