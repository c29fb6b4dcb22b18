"""A real SMTP server for tests (aiosmtpd), collecting messages in memory."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from urakata.platform.devservers import free_port


class _Collector:
    def __init__(self, messages: list[EmailMessage], refuse: bool):
        self.messages = messages
        self.refuse = refuse

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
        if self.refuse:
            return "550 5.7.1 Message refused by policy"
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(msg)
        return "250 OK"


class LocalSmtpServer:
    def __init__(self, refuse: bool = False):
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self._controller = Controller(
            _Collector(self.messages, refuse), hostname="127.0.0.1", port=self.port
        )

    def start(self) -> LocalSmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()
