-- normal.lua - miltertest: one ordinary message, accepted with A-R
-- (run by tests/abuse.sh: miltertest -D socket=unix:PATH -s normal.lua)
-- SPF for sender1.example authorises 203.0.113.0/24 (load_data.py zone).

local function start()
	local conn = mt.connect(socket, 40, 0.25)
	if conn == nil then error("mt.connect() failed") end
	mt.macro(conn, SMFIC_CONNECT, "j", "mx.abuse.example",
		 "{daemon_name}", "MX", "{client_addr}", "203.0.113.25")
	if mt.conninfo(conn, "mail.sender1.example", "203.0.113.25") ~= nil then
		error("mt.conninfo() failed")
	end
	if mt.helo(conn, "mail.sender1.example") ~= nil then
		error("mt.helo() failed")
	end
	return conn
end

local function message(conn, qid)
	mt.macro(conn, SMFIC_MAIL, "i", qid)
	if mt.mailfrom(conn, "<bounce@sender1.example>") ~= nil then
		error("mt.mailfrom() failed")
	end
	if mt.rcptto(conn, "<user1@rcpt.example>") ~= nil then
		error("mt.rcptto() failed")
	end
	for _, h in ipairs({{"From", "Alice <alice@sender1.example>"},
			   {"To", "<user1@rcpt.example>"},
			   {"Subject", "miltertest " .. qid},
			   {"Date", "Mon, 10 Nov 2025 09:30:00 +0000"},
			   {"Message-ID", "<" .. qid .. "@sender1.example>"}}) do
		if mt.header(conn, h[1], h[2]) ~= nil then
			error("mt.header() failed")
		end
	end
	if mt.eoh(conn) ~= nil then error("mt.eoh() failed") end
	if mt.bodystring(conn, "Hello.\r\n") ~= nil then
		error("mt.bodystring() failed")
	end
	if mt.eom(conn) ~= nil then error("mt.eom() failed") end
	if mt.getreply(conn) ~= SMFIR_ACCEPT then
		error("end of message: not accept")
	end
	if not mt.eom_check(conn, MT_HDRINSERT, "Authentication-Results") and
	   not mt.eom_check(conn, MT_HDRADD, "Authentication-Results") then
		error("no Authentication-Results")
	end
end

conn = start()
message(conn, "MT0001")
message(conn, "MT0002")
mt.disconnect(conn, true)
