"""What intake's door takes of a request's text: what people paste (soft returns from slides, page breaks from
PDFs) and real addresses pass; control characters and addresses that would read as two do not."""

import pytest
from pydantic import ValidationError

from intake.bodies import RequestCreate
from tests.support import request_body


@pytest.mark.parametrize("pasted", ["line\x0bsoft return", "page\x0cbreak", "next\x85line", "tab\there\r\nand on"])
def test_pasted_line_breaks_are_text(pasted: str) -> None:
    assert RequestCreate.model_validate(request_body(description=pasted)).description == pasted


@pytest.mark.parametrize("email", ["o'neil+launch@example.com", "josé@bücher.de", "dave@xn--bcher-kva.de"])
def test_real_addresses_pass(email: str) -> None:
    body = request_body(requester={**request_body()["requester"], "email": email})
    assert RequestCreate.model_validate(body).requester.email == email


@pytest.mark.parametrize(("field", "value"), [("description", "nul\x00here"), ("title", "\x07\x07\x07"),
                                              ("email", "a,b@example.com"), ("email", "<a>@example.com"),
                                              ("name", "\u200b\u200b")])
def test_control_characters_and_addresses_that_read_as_two_are_refused(field: str, value: str) -> None:
    body = (request_body(requester={**request_body()["requester"], field: value}) if field in ("email", "name")
            else request_body(**{field: value}))
    with pytest.raises(ValidationError):
        RequestCreate.model_validate(body)
