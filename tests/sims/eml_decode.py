#!/usr/bin/env python3
"""eml_decode - print a message file's headers and text as JSON, decoded by Python's email package

Used by the C unit tests as an independent decoder: RFC 2047 subjects, the
MIME charset and the transfer encoding are all undone by the standard library.
"""
import json
import sys
from email import policy
from email.parser import BytesParser


def main():
    with open(sys.argv[1], "rb") as f:
        msg = BytesParser(policy=policy.default).parse(f)
    out = {
        "from": str(msg["From"]),
        "to": str(msg["To"]),
        "subject": str(msg["Subject"]),
        "message_id": str(msg["Message-ID"]),
        "date": str(msg["Date"]),
        "content_type": msg.get_content_type(),
        "charset": msg.get_content_charset(),
        "body": msg.get_content(),
    }
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
