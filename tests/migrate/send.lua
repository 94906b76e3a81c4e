-- send.lua - miltertest: one message from a file through the milter at
-- "socket", as the MTA would send it from client "ip"; prints the reply
-- and the header fields the milter added (run by tests/migrate.py).
-- Variables (-D): socket, ip, msg (a file: header, empty line, body;
-- \n line ends, no folded fields), daemon ({daemon_name}, optional).

local function read_msg(path)
	local f = io.open(path, "rb")
	if f == nil then error("cannot open " .. path) end
	local text = f:read("*a")
	f:close()
	local s, e = string.find(text, "\n\n", 1, true)
	if s == nil then error(path .. ": no empty line") end
	local head = string.sub(text, 1, s)
	local body = string.sub(text, e + 1)
	local fields = {}
	for line in string.gmatch(head, "[^\r\n]+") do
		local name, value = string.match(line, "^([^:]+):%s?(.*)$")
		if name == nil then error(path .. ": bad field " .. line) end
		table.insert(fields, {name, value})
	end
	body = string.gsub(body, "\n", "\r\n")
	return fields, body
end

local fields, body = read_msg(msg)
local conn = mt.connect(socket, 40, 0.25)
if conn == nil then error("mt.connect() failed") end
if daemon ~= nil then mt.macro(conn, SMFIC_CONNECT, "{daemon_name}", daemon) end
if mt.conninfo(conn, "client.example", ip) ~= nil then error("conninfo") end
mt.macro(conn, SMFIC_MAIL, "i", "MIGRATE1")
if mt.mailfrom(conn, "<sender@example.org>") ~= nil then error("mailfrom") end
if mt.rcptto(conn, "<user@rcpt.example>") ~= nil then error("rcptto") end
for _, f in ipairs(fields) do
	if mt.header(conn, f[1], f[2]) ~= nil then error("header") end
end
if mt.eoh(conn) ~= nil then error("eoh") end
if mt.bodystring(conn, body) ~= nil then error("body") end
if mt.eom(conn) ~= nil then error("eom") end
local r = mt.getreply(conn)
local names = {[SMFIR_ACCEPT] = "accept", [SMFIR_CONTINUE] = "continue",
	[SMFIR_REJECT] = "reject", [SMFIR_TEMPFAIL] = "tempfail",
	[SMFIR_REPLYCODE] = "replycode", [SMFIR_DISCARD] = "discard"}
print("REPLY " .. (names[r] or tostring(r)))
for _, h in ipairs({"DKIM-Signature", "Authentication-Results"}) do
	local i = 0
	while true do
		local v = mt.getheader(conn, h, i)
		if v == nil then break end
		print("HDR " .. h .. ": " .. string.gsub(v, "[\r\n]+[ \t]*", " "))
		i = i + 1
	end
end
mt.disconnect(conn)
