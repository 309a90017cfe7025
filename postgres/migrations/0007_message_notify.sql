-- Wake-up hints for consoles: a customer message in a conversation that
-- waits for or is held by an agent sends pg_notify('relais_messages',
-- conversation id), delivered at commit. The payload is the conversation id
-- alone, never the text: listeners read what they are allowed to see.

CREATE FUNCTION relais_notify_customer_message() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.role = 'customer' AND EXISTS (
        SELECT 1 FROM conversations c
        WHERE c.id = NEW.conversation_id AND c.state IN ('queued', 'agent')
    ) THEN
        PERFORM pg_notify('relais_messages', NEW.conversation_id::text);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER messages_notify_customer
    AFTER INSERT ON messages
    FOR EACH ROW
    WHEN (NEW.role = 'customer')
    EXECUTE FUNCTION relais_notify_customer_message();
