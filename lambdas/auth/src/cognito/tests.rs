use super::*;
use aws_sdk_cognitoidentityprovider::types::error::{CodeMismatchException, ExpiredCodeException};
use shop_core::ApiError;

// moto accepts any confirmation code, so the wrong- and expired-code answers are proven on
// the SDK's own error values, through the mapping the handler uses.
fn service_error(e: ConfirmSignUpError) -> SdkError<ConfirmSignUpError, HttpResponse> {
    let raw = HttpResponse::new(400u16.try_into().unwrap(), aws_smithy_types::body::SdkBody::empty());
    SdkError::service_error(e, raw)
}

fn resend_service_error(e: ResendConfirmationCodeError) -> SdkError<ResendConfirmationCodeError, HttpResponse> {
    let raw = HttpResponse::new(400u16.try_into().unwrap(), aws_smithy_types::body::SdkBody::empty());
    SdkError::service_error(e, raw)
}

#[test]
fn an_already_confirmed_user_is_409_on_confirm_and_on_resend() {
    use aws_sdk_cognitoidentityprovider::types::error::{InvalidParameterException, NotAuthorizedException};
    let confirm = confirm_error(service_error(ConfirmSignUpError::NotAuthorizedException(
        NotAuthorizedException::builder()
            .message("User cannot be confirmed. Current status is CONFIRMED")
            .build(),
    )));
    assert_eq!((confirm.status(), confirm.code()), (409, "AlreadyConfirmed"));
    let resend = resend_error(resend_service_error(
        ResendConfirmationCodeError::InvalidParameterException(
            InvalidParameterException::builder()
                .message("User is already confirmed.")
                .build(),
        ),
    ));
    assert!(matches!(resend, Error::AlreadyConfirmed), "{resend:?}");
}

#[test]
fn an_email_another_account_signs_in_with_is_409_and_cognitos_limits_are_429() {
    use aws_sdk_cognitoidentityprovider::types::error::{AliasExistsException, LimitExceededException};
    let alias = confirm_error(service_error(ConfirmSignUpError::AliasExistsException(
        AliasExistsException::builder()
            .message("An account with the email already exists.")
            .build(),
    )));
    assert_eq!((alias.status(), alias.code()), (409, "EmailExists"));
    let limited = confirm_error(service_error(ConfirmSignUpError::LimitExceededException(
        LimitExceededException::builder().build(),
    )));
    assert_eq!((limited.status(), limited.code()), (429, "TooManyRequests"));
}

#[test]
fn resend_maps_unknown_users_and_throttling() {
    use aws_sdk_cognitoidentityprovider::types::error::{LimitExceededException, UserNotFoundException};
    let unknown = resend_error(resend_service_error(
        ResendConfirmationCodeError::UserNotFoundException(UserNotFoundException::builder().build()),
    ));
    assert!(matches!(unknown, Error::UserNotFound), "{unknown:?}");
    let limited = resend_error(resend_service_error(
        ResendConfirmationCodeError::LimitExceededException(LimitExceededException::builder().build()),
    ));
    assert_eq!((limited.status(), limited.code()), (429, "TooManyRequests"));
}

#[test]
fn wrong_and_expired_codes_are_400() {
    let wrong = confirm_error(service_error(ConfirmSignUpError::CodeMismatchException(
        CodeMismatchException::builder().message("Invalid code").build(),
    )));
    assert_eq!((wrong.status(), wrong.code()), (400, "CodeMismatch"));
    let expired = confirm_error(service_error(ConfirmSignUpError::ExpiredCodeException(
        ExpiredCodeException::builder().message("expired").build(),
    )));
    assert_eq!((expired.status(), expired.code()), (400, "CodeExpired"));
}
